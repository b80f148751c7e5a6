package config

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
)

func TestEvidenceKeys(t *testing.T) {
	seed := bytes.Repeat([]byte{7}, 32)
	want := ed25519.NewKeyFromSeed(seed)
	der, err := x509.MarshalPKCS8PrivateKey(want)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	b64 := base64.StdEncoding.EncodeToString
	pseudo := b64(bytes.Repeat([]byte{9}, 32))
	tests := []struct {
		name    string
		toml    string
		environ []string
		problem string // "" : valid
		key     bool   // a signing key is set
	}{
		{name: "neither set", toml: ""},
		{name: "a base64 seed", toml: fmt.Sprintf("[evidence]\nsigning_key = %q\n", b64(seed)), key: true},
		{name: "a PEM private key", toml: fmt.Sprintf("[evidence]\nsigning_key = '''\n%s'''\n", pemKey), key: true},
		{name: "from the environment", environ: []string{EnvEvidenceSigningKey + "=" + pemKey, EnvTransferPseudonymKey + "=" + pseudo}, key: true},
		{name: "a seed of the wrong length", toml: fmt.Sprintf("[evidence]\nsigning_key = %q\n", b64(seed[:16])),
			problem: "evidence.signing_key: must be an ed25519 key"},
		{name: "not base64", toml: "[evidence]\nsigning_key = \"not a key!\"\n", problem: "evidence.signing_key: must be an ed25519 key"},
		{name: "a PEM of another type", toml: "[evidence]\nsigning_key = '''\n-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'''\n",
			problem: `evidence.signing_key: a PEM "RSA PRIVATE KEY" block`},
		{name: "a pseudonym key too short", toml: fmt.Sprintf("[transfer]\npseudonym_key = %q\n", b64(seed[:8])),
			problem: "transfer.pseudonym_key: must be 32 bytes"},
		{name: "the pseudonym key reused as the index key",
			toml:    fmt.Sprintf("[transfer]\npseudonym_key = %q\n[archive]\nindex_key = %q\n", pseudo, pseudo),
			problem: "transfer.pseudonym_key: must not be archive.index_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse("t.toml", []byte(minimal+tt.toml), tt.environ)
			if tt.problem != "" {
				if err == nil || !strings.Contains(err.Error(), tt.problem) {
					t.Fatalf("err = %v, want %q", err, tt.problem)
				}
				if strings.Contains(err.Error(), b64(seed)) || strings.Contains(err.Error(), pseudo) {
					t.Errorf("the error shows a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			k, err := cfg.Evidence.Key()
			if err != nil || (k != nil) != tt.key || (tt.key && !k.Equal(want)) {
				t.Errorf("Key() = %v, %v; want set %v", k != nil, err, tt.key)
			}
			js, _ := json.Marshal(cfg)
			if s := fmt.Sprintf("%+v %s", cfg, js); strings.Contains(s, b64(seed)) || strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, pseudo) {
				t.Error("a printed config shows a key")
			}
		})
	}
}
