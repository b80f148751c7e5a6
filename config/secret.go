package config

import "log/slog"

// Secret is a configuration value that must never be printed: tokens,
// keys, secrets and URLs that may carry a password. Every way of
// formatting it prints "[redacted]"; Reveal gives the value to the code
// that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer (%v, %s).
func (s Secret) String() string { return redacted }

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return redacted }

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText keeps secrets out of JSON and other encodings. Decoding
// uses the plain string kind, so TOML still reads the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }
