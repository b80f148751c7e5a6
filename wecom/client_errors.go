package wecom

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// The Client's errors. None of them carries an access token or a secret:
// every text that could (a URL, WeCom's errmsg, a transport error) goes
// through redact first (client_secrets_test.go proves it).

// ErrNoSecret: the API needs the secret of an app that is not configured.
// The error wrapping it names the app and the config key to set.
var ErrNoSecret = errors.New("no secret configured")

// ErrResponseTooLarge: WeCom's answer was larger than the Client reads
// (maxResponseBytes).
var ErrResponseTooLarge = errors.New("response too large")

// HTTPStatusError is an HTTP answer other than 200 (WeCom answers every
// API call, failed or not, with 200 and an errcode). Classify retries 5xx
// and 429.
type HTTPStatusError struct {
	Op         string
	StatusCode int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("wecom: %s: HTTP status %d", e.Op, e.StatusCode)
}

// TransportError is a failure to reach WeCom or to read its answer: a
// connection error, a TLS error, the http.Client's timeout. It is never
// the caller's context ending: that is returned as the context's error.
// Err is the cause with every URL redacted.
type TransportError struct {
	Op  string
	Err error
}

func (e *TransportError) Error() string { return "wecom: " + e.Op + ": " + e.Err.Error() }

func (e *TransportError) Unwrap() error { return e.Err }

// Timeout reports whether the cause was a timeout.
func (e *TransportError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
}

// ResponseError is an HTTP 200 answer that is not what WeCom sends: not
// JSON, JSON of the wrong shape, cut short, or too large (then it wraps
// ErrResponseTooLarge).
type ResponseError struct {
	Op     string
	Reason string
	Err    error // the JSON error or ErrResponseTooLarge; may be nil
}

func (e *ResponseError) Error() string {
	s := "wecom: " + e.Op + ": malformed response: " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ResponseError) Unwrap() error { return e.Err }

// TokenCacheError is a failure of the TokenCache (the store) while the
// Client looked for, stored or dropped an access token.
type TokenCacheError struct {
	App string
	Op  string // "get", "put", "delete", "lease"
	Err error
}

func (e *TokenCacheError) Error() string {
	return fmt.Sprintf("wecom: token cache: %s %q: %v", e.Op, e.App, e.Err)
}

func (e *TokenCacheError) Unwrap() error { return e.Err }

// InvalidError is a request the Client refuses to send because it breaks
// a documented rule: Field names the JSON field (e.g.
// "template_card.button_list"), Problem the rule it breaks.
type InvalidError struct {
	Op      string
	Field   string
	Problem string
}

func (e *InvalidError) Error() string {
	return "wecom: " + e.Op + ": invalid " + e.Field + ": " + e.Problem
}

func invalid(op, field, format string, args ...any) *InvalidError {
	return &InvalidError{Op: op, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// secretParams matches the query parameters that carry secrets, in URLs
// as Go prints them (a *url.Error quotes the URL).
var secretParams = regexp.MustCompile(`(?i)\b(access_token|corpsecret)=[^&#\s"'<>]*`)

// minScrubLen: literal values shorter than this are not scrubbed (an
// empty or one-letter "secret" would garble every text).
const minScrubLen = 4

// redact removes secrets from s: the values of access_token= and
// corpsecret= wherever they appear, and every literal occurrence of the
// given values (tokens, secrets), raw or URL-escaped.
func redact(s string, values ...string) string {
	s = secretParams.ReplaceAllString(s, "${1}=REDACTED")
	for _, v := range values {
		if len(v) < minScrubLen {
			continue
		}
		s = strings.ReplaceAll(s, v, "REDACTED")
		if q := url.QueryEscape(v); q != v {
			s = strings.ReplaceAll(s, q, "REDACTED")
		}
	}
	return s
}

// redactedError carries the text of an error with its secrets removed. It
// unwraps to the original so that errors.Is/As still find the cause's kind
// (a net.Error, a context error); the causes kept are those below a
// *url.Error, which name hosts and ports but not the URL.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

func (e *redactedError) Unwrap() error { return e.err }

// Timeout keeps (*url.Error).Timeout working: it asks its cause directly.
func (e *redactedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// redactTransport returns err with every URL and secret redacted. A
// *url.Error (which prints the whole URL, access_token and corpsecret
// included) is copied with a redacted URL; its cause is kept for
// errors.Is/As but its text is redacted too.
func redactTransport(err error, values ...string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Err
		if inner != nil {
			inner = &redactedError{msg: redact(inner.Error(), values...), err: inner}
		}
		return &url.Error{Op: ue.Op, URL: redact(ue.URL, values...), Err: inner}
	}
	return &redactedError{msg: redact(err.Error(), values...), err: err}
}
