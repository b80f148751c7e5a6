//go:build linux && cgo && msgaudit

package wecom

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	mrand "math/rand/v2"
	"testing"
)

// TestArchiveKeyRingSDKDifferential: OpenSSL and crypto/rsa give the same
// plaintext for many keys and random keys of every length PKCS#1 v1.5
// allows, and the same error (SDKError, same code) for garbage: random
// ciphertexts, a wrong key, truncated or bit-flipped ones. Its name has
// SDK in it so scripts/test's tagged run (-run SDK) takes it.
func TestArchiveKeyRingSDKDifferential(t *testing.T) {
	if ArchiveKeyRingBackend != "openssl" {
		t.Fatalf("ArchiveKeyRingBackend = %q in the msgaudit build, want openssl", ArchiveKeyRingBackend)
	}
	nKeys := 6
	if testing.Short() {
		nKeys = 2
	}
	keys := make([]*rsa.PrivateKey, nKeys)
	for i := range keys {
		bits := 2048
		if i%3 == 2 {
			bits = 1024 // another modulus size: the ring is not tied to 2048
		}
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	prng := mrand.New(mrand.NewPCG(1, 2))
	for i, k := range keys {
		ssl, err := newSSLRSAKey(k)
		if err != nil {
			t.Fatal(err)
		}
		goKey := goRSAKey{k}
		other := goRSAKey{keys[(i+1)%len(keys)]}
		maxMsg := k.Size() - 11
		var inputs []string
		for n := 0; n <= maxMsg; n += 1 + prng.IntN(13) {
			msg := make([]byte, n)
			rand.Read(msg)
			inputs = append(inputs, encryptRandomKey(t, &k.PublicKey, msg))
		}
		inputs = append(inputs, encryptRandomKey(t, &k.PublicKey, make([]byte, maxMsg)))
		for range 64 {
			junk := make([]byte, k.Size())
			rand.Read(junk)
			inputs = append(inputs, base64.StdEncoding.EncodeToString(junk))
		}
		for _, in := range inputs[:8] {
			raw, _ := base64.StdEncoding.DecodeString(in)
			flipped := bytes.Clone(raw)
			flipped[prng.IntN(len(flipped))] ^= 1 << prng.IntN(8)
			inputs = append(inputs,
				base64.StdEncoding.EncodeToString(flipped),
				base64.StdEncoding.EncodeToString(raw[1:]),
				in[:len(in)-4]+"!!!!")
		}
		// Another key's ciphertexts, where the sizes match.
		if other.size() == k.Size() {
			for range 8 {
				inputs = append(inputs, encryptRandomKey(t, &other.k.PublicKey, []byte("0123456789abcdef0123456789abcdef")))
			}
		}
		for j, in := range inputs {
			gp, gerr := decryptRandomKeyWith(goKey, in)
			sp, serr := decryptRandomKeyWith(ssl, in)
			if !bytes.Equal(gp, sp) || (gp == nil) != (sp == nil) {
				t.Fatalf("key %d input %d: go and openssl plaintexts differ (%d and %d bytes)", i, j, len(gp), len(sp))
			}
			var ge, se *SDKError
			gok, sok := errors.As(gerr, &ge), errors.As(serr, &se)
			if (gerr == nil) != (serr == nil) || gok != sok || (gok && (ge.Code != se.Code || ge.Op != se.Op)) {
				t.Fatalf("key %d input %d: errors differ: go %v, openssl %v", i, j, gerr, serr)
			}
			if gok && ge.Code != SDKErrDecrypt {
				t.Fatalf("key %d input %d: code %d, want %d", i, j, ge.Code, SDKErrDecrypt)
			}
		}
		ssl.free()
		ssl.free() // twice is harmless
	}
}
