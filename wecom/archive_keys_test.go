package wecom

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	testKeysOnce sync.Once
	testKeys     [2]*rsa.PrivateKey
)

// archiveTestKeys are two 2048-bit keys, generated once per test binary.
func archiveTestKeys(t testing.TB) [2]*rsa.PrivateKey {
	t.Helper()
	testKeysOnce.Do(func() {
		for i := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[i] = k
		}
	})
	return testKeys
}

func TestParseArchivePrivateKey(t *testing.T) {
	key := archiveTestKeys(t)[0]
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	der8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der8})
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER})
	corrupt1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)[:200]})
	corrupt8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der8[:200]})
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: der8})
	withHeaders := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: x509.MarshalPKCS1PrivateKey(key)})

	tests := []struct {
		name    string
		in      []byte
		wantErr string // "" = parses to key
	}{
		{"PKCS#1", pkcs1, ""},
		{"PKCS#8", pkcs8, ""},
		{"PKCS#8 with CRLF and leading text", append([]byte("my key\r\n"), []byte(strings.ReplaceAll(string(pkcs8), "\n", "\r\n"))...), ""},
		{"empty", nil, "no PEM block"},
		{"not PEM", []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "no PEM block"},
		{"two keys", append(append([]byte{}, pkcs1...), pkcs8...), "more than one PEM block"},
		{"EC key", ecPEM, "want RSA"},
		{"corrupt PKCS#1", corrupt1, "PKCS#1 block does not parse"},
		{"corrupt PKCS#8", corrupt8, "PKCS#8 block does not parse"},
		{"public key", pub, `PEM block type "PUBLIC KEY"`},
		{"encrypted PKCS#8", encrypted, "encrypted PKCS#8"},
		{"legacy encrypted PEM", withHeaders, "has headers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseArchivePrivateKey(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if !got.Equal(key) {
					t.Fatal("parsed a different key")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			// No 16-character run of the input's base64 body in the error.
			body := strings.Join(strings.Split(string(tt.in), "\n")[1:], "")
			for i := 0; i+16 <= len(body); i += 16 {
				if strings.Contains(err.Error(), body[i:i+16]) {
					t.Fatalf("error echoes key bytes: %v", err)
				}
			}
		})
	}
}

func TestDecryptRandomKey(t *testing.T) {
	keys := archiveTestKeys(t)
	random := []byte("0123456789abcdefghijklmnopqrstuv")
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, &keys[0].PublicKey, random)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(ct)

	got, err := DecryptRandomKey(keys[0], b64)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(random) {
		t.Fatalf("got %q", got)
	}

	tests := []struct {
		name string
		key  *rsa.PrivateKey
		in   string
		code int
	}{
		{"wrong key", keys[1], b64, SDKErrDecrypt},
		{"not base64", keys[0], "%%%", SDKErrDecrypt},
		{"short ciphertext", keys[0], base64.StdEncoding.EncodeToString(ct[:100]), SDKErrDecrypt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecryptRandomKey(tt.key, tt.in)
			var se *SDKError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("err = %v, want SDKError %d", err, tt.code)
			}
		})
	}
	t.Run("nil key", func(t *testing.T) {
		if _, err := DecryptRandomKey(nil, b64); !errors.Is(err, ErrNoArchiveKey) {
			t.Fatalf("err = %v, want ErrNoArchiveKey", err)
		}
	})
}
