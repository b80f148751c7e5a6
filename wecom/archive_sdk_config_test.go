package wecom

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"
)

func testKeyPEM(t *testing.T) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(archiveTestKeys(t)[0])})
}

func TestSDKConfigValidate(t *testing.T) {
	good := SDKConfig{CorpID: "ww0123456789abcdef", Secret: "s3cr3t-archive", PrivateKeys: map[uint32][]byte{1: testKeyPEM(t)}}
	tests := []struct {
		name    string
		mutate  func(*SDKConfig)
		wantErr string
	}{
		{"valid", func(*SDKConfig) {}, ""},
		{"no corp id", func(c *SDKConfig) { c.CorpID = "" }, "CorpID is empty"},
		{"no secret", func(c *SDKConfig) { c.Secret = "" }, "Secret is empty"},
		{"no keys", func(c *SDKConfig) { c.PrivateKeys = nil }, "PrivateKeys is empty"},
		{"bad key", func(c *SDKConfig) { c.PrivateKeys = map[uint32][]byte{7: []byte("junk")} }, "PrivateKeys[7]"},
		{"negative timeout", func(c *SDKConfig) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good
			tt.mutate(&c)
			ring, err := c.validate()
			if tt.wantErr == "" {
				if err != nil || len(ring) != 1 || !ring[1].Equal(archiveTestKeys(t)[0]) {
					t.Fatalf("ring %v, err %v", ring, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestSDKConfigTimeoutAndPrinting(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want int
	}{{0, 5}, {time.Millisecond, 1}, {3 * time.Second, 3}, {3500 * time.Millisecond, 4}} {
		if got := (SDKConfig{Timeout: tt.d}).timeoutSeconds(); got != tt.want {
			t.Errorf("Timeout %s: %d s, want %d", tt.d, got, tt.want)
		}
	}
	c := SDKConfig{CorpID: "ww1", Secret: "s3cr3t-archive", ProxyPassword: "user:pw-hidden", PrivateKeys: map[uint32][]byte{1: testKeyPEM(t)}}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "s3cr3t") || strings.Contains(s, "pw-hidden") || strings.Contains(s, "PRIVATE") || strings.Contains(s, "MII") {
			t.Errorf("printed config shows a secret: %s", s)
		}
	}
}

func TestSDKCodeText(t *testing.T) {
	for _, code := range []int{SDKErrParam, SDKErrNetwork, SDKErrParse, SDKErrSystem, SDKErrFileID, SDKErrDecrypt, SDKErrDecryptKey, SDKErrIPNotAllowed, SDKErrExpired, SDKErrCert} {
		if SDKCodeText(code) == "sdk error" {
			t.Errorf("code %d has no text", code)
		}
	}
	if SDKCodeText(12345) != "sdk error" {
		t.Error("unknown code")
	}
}
