package config

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Evidence is how evidence packs are signed. A pack's manifest carries an
// ed25519 signature by SigningKey; its public key is published at
// /.well-known/wecomply-evidence.pub for examiners. Unset, no pack can be
// made (and the well-known route answers 404).
type Evidence struct {
	// SigningKey is the ed25519 private key: its 32-byte seed in base64
	// (wecomply keygen prints one), or a PEM "PRIVATE KEY" block (PKCS#8,
	// e.g. `openssl genpkey -algorithm ed25519`).
	SigningKey Secret `toml:"signing_key"`
}

// Transfer is the pseudonymisation of exports for cross-border transfer.
type Transfer struct {
	// PseudonymKey keys the HMAC-SHA256 that replaces member, customer
	// and group ids in a pseudonymised export: 32 bytes, base64. It never
	// leaves wecomply (whoever holds it can test a guessed id against a
	// pseudonym). Unset, no pseudonymised export can be made.
	PseudonymKey Secret `toml:"pseudonym_key"`
}

// Environment variables of the evidence and transfer secrets.
const (
	EnvEvidenceSigningKey   = "WECOMPLY_EVIDENCE_SIGNING_KEY"
	EnvTransferPseudonymKey = "WECOMPLY_TRANSFER_PSEUDONYM_KEY"
)

// applyEvidenceEnv handles the evidence and transfer variables; ok is
// false for a name that is not one of them.
func (c *Config) applyEvidenceEnv(name, value string) (ok bool) {
	switch name {
	case EnvEvidenceSigningKey:
		c.Evidence.SigningKey = Secret(value)
	case EnvTransferPseudonymKey:
		c.Transfer.PseudonymKey = Secret(value)
	default:
		return false
	}
	return true
}

// Key returns the signing key, or nil (and no error) when none is set.
func (e Evidence) Key() (ed25519.PrivateKey, error) {
	v := strings.TrimSpace(e.SigningKey.Reveal())
	if v == "" {
		return nil, nil
	}
	if blk, _ := pem.Decode([]byte(v)); blk != nil {
		if blk.Type != "PRIVATE KEY" {
			return nil, fmt.Errorf("a PEM %q block; want PRIVATE KEY (PKCS#8, `openssl genpkey -algorithm ed25519`)", blk.Type)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, errors.New("a PEM PRIVATE KEY block that does not parse as PKCS#8")
		}
		priv, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("a %T in PEM; want an ed25519 key", k)
		}
		return priv, nil
	}
	seed, err := base64.StdEncoding.DecodeString(v)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, errors.New("must be an ed25519 key: its 32-byte seed in base64 (wecomply keygen prints one) or a PEM PRIVATE KEY block")
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// Key returns the pseudonym key, or nil (and no error) when none is set.
func (t Transfer) Key() ([]byte, error) {
	if strings.TrimSpace(t.PseudonymKey.Reveal()) == "" {
		return nil, nil
	}
	return Key32(t.PseudonymKey)
}

func (c *Config) validateEvidence(ps *problems) {
	if _, err := c.Evidence.Key(); err != nil {
		ps.add("evidence.signing_key", err.Error())
	}
	if _, err := c.Transfer.Key(); err != nil {
		ps.add("transfer.pseudonym_key", err.Error())
	}
	if k := strings.TrimSpace(c.Transfer.PseudonymKey.Reveal()); k != "" && k == strings.TrimSpace(c.Archive.IndexKey.Reveal()) {
		ps.add("transfer.pseudonym_key", "must not be archive.index_key: one key, one purpose")
	}
}
