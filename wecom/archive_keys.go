package wecom

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// ParseArchivePrivateKey parses the PEM of a session archive private key
// (ARCHIVE.md §2.3): PKCS#1 ("RSA PRIVATE KEY", openssl genrsa before
// OpenSSL 3) or PKCS#8 ("PRIVATE KEY", OpenSSL 3) holding an RSA key.
// Errors say what is wrong with the PEM and never quote its bytes.
func ParseArchivePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, rest := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("wecom: archive private key: no PEM block found (want -----BEGIN RSA PRIVATE KEY----- or -----BEGIN PRIVATE KEY-----)")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		if next, _ := pem.Decode(rest); next != nil {
			return nil, fmt.Errorf("wecom: archive private key: more than one PEM block (first %q, then %q): give one key per version", block.Type, next.Type)
		}
	}
	if len(block.Headers) > 0 {
		return nil, fmt.Errorf("wecom: archive private key: PEM block %q has headers (an encrypted key?): give an unencrypted key", block.Type)
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("wecom: archive private key: PKCS#1 block does not parse: %s", keyErrReason(err))
		}
		key = k
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("wecom: archive private key: PKCS#8 block does not parse: %s", keyErrReason(err))
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("wecom: archive private key: PKCS#8 key is %T, want RSA", k)
		}
		key = rk
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("wecom: archive private key: the PEM is an encrypted PKCS#8 key: decrypt it first (openssl pkey)")
	default:
		return nil, fmt.Errorf("wecom: archive private key: PEM block type %q, want \"RSA PRIVATE KEY\" or \"PRIVATE KEY\"", block.Type)
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("wecom: archive private key: invalid RSA key: %s", keyErrReason(err))
	}
	return key, nil
}

// keyErrReason is the text of a key parsing error, which the standard
// library keeps generic (it never echoes key bytes); kept short.
func keyErrReason(err error) string {
	s := err.Error()
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// DecryptRandomKey is the first step of decrypting an archive record
// (ARCHIVE.md §2.3) with one key, in pure Go: base64-decode
// encrypt_random_key and decrypt it with RSA PKCS#1 v1.5 under the
// private key of the record's publickey_ver. The result is the key
// DecryptData takes. A key that does not fit gives an *SDKError with code
// SDKErrDecrypt (10006), as the SDK would. ArchiveKeyRing does the same
// by version, with OpenSSL in the msgaudit build.
func DecryptRandomKey(key *rsa.PrivateKey, encryptRandomKeyB64 string) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("wecom: decrypt random key: %w", ErrNoArchiveKey)
	}
	return decryptRandomKeyWith(goRSAKey{key}, encryptRandomKeyB64)
}
