package wecom

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// encryptRandomKey is encrypt_random_key as WeCom makes it: base64 of RSA
// PKCS#1 v1.5 of random under pub.
func encryptRandomKey(t testing.TB, pub *rsa.PublicKey, random []byte) string {
	t.Helper()
	ct, err := rsa.EncryptPKCS1v15(rand.Reader, pub, random)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(ct)
}

// TestArchiveKeyRing runs on the implementation of this build (go, or
// openssl under -tags msgaudit; scripts/test runs both).
func TestArchiveKeyRing(t *testing.T) {
	t.Logf("backend %s", ArchiveKeyRingBackend)
	keys := archiveTestKeys(t)
	der8, err := x509.MarshalPKCS8PrivateKey(keys[1])
	if err != nil {
		t.Fatal(err)
	}
	pems := map[uint32][]byte{
		1: pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys[0])}),
		2: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der8}),
	}
	fromPEM, err := NewArchiveKeyRingPEM(pems)
	if err != nil {
		t.Fatal(err)
	}
	defer fromPEM.Close()
	fromKeys, err := NewArchiveKeyRing(map[uint32]*rsa.PrivateKey{1: keys[0], 2: keys[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer fromKeys.Close()

	random := []byte("0123456789abcdefghijklmnopqrstuv")
	ct1 := encryptRandomKey(t, &keys[0].PublicKey, random)
	ct2 := encryptRandomKey(t, &keys[1].PublicKey, random)
	raw1, _ := base64.StdEncoding.DecodeString(ct1)
	tests := []struct {
		name    string
		ver     uint32
		in      string
		want    []byte
		code    int  // SDKError code wanted, 0: none
		missing bool // ErrNoArchiveKey wanted
	}{
		{"PKCS#1 key", 1, ct1, random, 0, false},
		{"PKCS#8 key", 2, ct2, random, 0, false},
		{"surrounding whitespace", 1, "\n " + ct1 + "\n", random, 0, false},
		{"empty plaintext", 1, encryptRandomKey(t, &keys[0].PublicKey, nil), []byte{}, 0, false},
		{"wrong key", 2, ct1, nil, SDKErrDecrypt, false},
		{"missing version", 3, ct1, nil, 0, true},
		{"corrupt base64", 1, "%%%" + ct1[3:], nil, SDKErrDecrypt, false},
		{"empty", 1, "", nil, SDKErrDecrypt, false},
		{"short ciphertext", 1, base64.StdEncoding.EncodeToString(raw1[:100]), nil, SDKErrDecrypt, false},
		{"long ciphertext", 1, base64.StdEncoding.EncodeToString(append(bytes.Clone(raw1), 0)), nil, SDKErrDecrypt, false},
		{"ciphertext above the modulus", 1, base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 256)), nil, SDKErrDecrypt, false},
		{"zero ciphertext", 1, base64.StdEncoding.EncodeToString(make([]byte, 256)), nil, SDKErrDecrypt, false},
	}
	for _, ring := range []struct {
		name string
		r    *ArchiveKeyRing
	}{{"from PEM", fromPEM}, {"from keys", fromKeys}} {
		if got := ring.r.Versions(); !slices.Equal(got, []uint32{1, 2}) {
			t.Fatalf("%s: Versions() = %v", ring.name, got)
		}
		for _, tt := range tests {
			t.Run(ring.name+"/"+tt.name, func(t *testing.T) {
				got, err := ring.r.Decrypt(tt.ver, tt.in)
				switch {
				case tt.missing:
					if !errors.Is(err, ErrNoArchiveKey) || !strings.Contains(err.Error(), "publickey_ver 3") {
						t.Fatalf("err = %v, want ErrNoArchiveKey naming publickey_ver 3", err)
					}
				case tt.code != 0:
					var se *SDKError
					if !errors.As(err, &se) || se.Code != tt.code || se.Op != "DecryptData" {
						t.Fatalf("err = %v, want SDKError DecryptData %d", err, tt.code)
					}
					if got != nil {
						t.Fatalf("plaintext %x with an error", got)
					}
				default:
					if err != nil || !bytes.Equal(got, tt.want) {
						t.Fatalf("got %q, %v; want %q", got, err, tt.want)
					}
				}
			})
		}
	}
}

func TestArchiveKeyRingErrors(t *testing.T) {
	keys := archiveTestKeys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keys[0])})
	t.Run("nil key", func(t *testing.T) {
		_, err := NewArchiveKeyRing(map[uint32]*rsa.PrivateKey{1: keys[0], 7: nil})
		if err == nil || !strings.Contains(err.Error(), "publickey_ver 7") {
			t.Fatalf("err = %v, want one naming publickey_ver 7", err)
		}
	})
	t.Run("bad PEM never echoed", func(t *testing.T) {
		bad := bytes.Replace(pkcs1, []byte("MII"), []byte("AAA"), 1)
		_, err := NewArchiveKeyRingPEM(map[uint32][]byte{4: bad})
		if err == nil || !strings.Contains(err.Error(), "publickey_ver 4") {
			t.Fatalf("err = %v, want one naming publickey_ver 4", err)
		}
		body := string(bytes.Split(bad, []byte("\n"))[1])
		if strings.Contains(err.Error(), body[:20]) {
			t.Fatalf("error echoes the key: %v", err)
		}
	})
	t.Run("empty ring", func(t *testing.T) {
		r, err := NewArchiveKeyRing(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Decrypt(1, "AAAA"); !errors.Is(err, ErrNoArchiveKey) {
			t.Fatalf("err = %v, want ErrNoArchiveKey", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		r, err := NewArchiveKeyRingPEM(map[uint32][]byte{1: pkcs1})
		if err != nil {
			t.Fatal(err)
		}
		ct := encryptRandomKey(t, &keys[0].PublicKey, []byte("k"))
		if _, err := r.Decrypt(1, ct); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := r.Decrypt(1, ct); !errors.Is(err, ErrArchiveClosed) {
			t.Fatalf("err = %v, want ErrArchiveClosed", err)
		}
		if v := r.Versions(); len(v) != 0 {
			t.Fatalf("Versions() = %v after Close", v)
		}
	})
}

// TestArchiveKeyRingConcurrent decrypts from many goroutines at once (a
// shared key, a context per call) while another ring is closed; run with
// -race.
func TestArchiveKeyRingConcurrent(t *testing.T) {
	keys := archiveTestKeys(t)
	r, err := NewArchiveKeyRing(map[uint32]*rsa.PrivateKey{1: keys[0], 2: keys[1]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	type job struct {
		ver  uint32
		ct   string
		want []byte
	}
	var jobs []job
	for i := range 16 {
		ver := uint32(i%2 + 1)
		want := []byte(strings.Repeat(string(rune('a'+i)), 32))
		jobs = append(jobs, job{ver, encryptRandomKey(t, &keys[ver-1].PublicKey, want), want})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 4 * len(jobs) {
				j := jobs[(g+i)%len(jobs)]
				got, err := r.Decrypt(j.ver, j.ct)
				if err != nil || !bytes.Equal(got, j.want) {
					errs <- errors.New("a concurrent Decrypt gave another plaintext or an error")
					return
				}
				// A wrong key, concurrently: always 10006.
				var se *SDKError
				if _, err := r.Decrypt(3-j.ver, j.ct); !errors.As(err, &se) || se.Code != SDKErrDecrypt {
					errs <- errors.New("a concurrent wrong-key Decrypt did not give 10006")
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// BenchmarkArchiveKeyRing is the RSA step of one record (2048-bit key) on
// this build's implementation, one goroutine and in parallel; with
// -tags msgaudit the pure Go one is measured beside it.
func BenchmarkArchiveKeyRing(b *testing.B) {
	keys := archiveTestKeys(b)
	r, err := NewArchiveKeyRing(map[uint32]*rsa.PrivateKey{1: keys[0]})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ct := encryptRandomKey(b, &keys[0].PublicKey, []byte("0123456789abcdefghijklmnopqrstuv"))
	b.Run(ArchiveKeyRingBackend, func(b *testing.B) {
		for b.Loop() {
			if _, err := r.Decrypt(1, ct); err != nil {
				b.Fatal(err)
			}
		}
	})
	if ArchiveKeyRingBackend != "go" {
		g := goRSAKey{keys[0]}
		b.Run("go", func(b *testing.B) {
			for b.Loop() {
				if _, err := decryptRandomKeyWith(g, ct); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run(ArchiveKeyRingBackend+"/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := r.Decrypt(1, ct); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
