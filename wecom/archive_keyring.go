package wecom

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// ArchiveKeyRing holds the session archive's private keys by
// publickey_ver and does the RSA step of decrypting a record
// (ARCHIVE.md §2.3): encrypt_random_key, base64 of RSA PKCS#1 v1.5 under
// the public key of the record's version, gives the random key
// DecryptData takes.
//
// Two implementations share this type, chosen at build time: pure Go
// (crypto/rsa, the default) and OpenSSL's libcrypto through cgo
// (EVP_PKEY_decrypt, 3.6× faster on 2048-bit keys) in the build that has
// the real SDK (linux && cgo && msgaudit), which needs cgo anyway.
// ArchiveKeyRingBackend says which one this binary has. Both give the
// same plaintexts and the same errors.
//
// A ring is safe for concurrent use. Close releases the keys (OpenSSL's
// copies are freed; a ring that is never closed frees them when it is
// garbage collected).
type ArchiveKeyRing struct {
	mu     sync.RWMutex
	keys   map[uint32]archiveRSAKey
	closed bool
}

// archiveRSAKey is one private key of a ring in one implementation.
type archiveRSAKey interface {
	// size is the modulus size in bytes: the ciphertext's length.
	size() int
	// decryptPKCS1v15 decrypts ct (size() bytes). errBadCiphertext when
	// the padding does not check (a key that does not fit); any other
	// error is a failure of the implementation itself.
	decryptPKCS1v15(ct []byte) ([]byte, error)
	// free releases what the implementation holds; the key is not used
	// after.
	free()
}

// errBadCiphertext: the ciphertext does not decrypt to PKCS#1 v1.5
// padding under this key.
var errBadCiphertext = errors.New("ciphertext does not decrypt")

// NewArchiveKeyRing is a ring of keys (publickey_ver → key; the map is
// not kept). It fails if a key is nil or if the implementation cannot
// load one; the error names the version, never the key's bytes.
func NewArchiveKeyRing(keys map[uint32]*rsa.PrivateKey) (*ArchiveKeyRing, error) {
	r := &ArchiveKeyRing{keys: make(map[uint32]archiveRSAKey, len(keys))}
	for v, k := range keys {
		if k == nil {
			r.Close()
			return nil, fmt.Errorf("wecom: archive key ring: publickey_ver %d: key is nil", v)
		}
		rk, err := newArchiveRSAKey(k)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("wecom: archive key ring: publickey_ver %d: %w", v, err)
		}
		r.keys[v] = rk
	}
	return r, nil
}

// NewArchiveKeyRingPEM is a ring of PEM keys (publickey_ver → PEM,
// PKCS#1 or PKCS#8, as ParseArchivePrivateKey takes).
func NewArchiveKeyRingPEM(pems map[uint32][]byte) (*ArchiveKeyRing, error) {
	keys := make(map[uint32]*rsa.PrivateKey, len(pems))
	for v, p := range pems {
		k, err := ParseArchivePrivateKey(p)
		if err != nil {
			return nil, fmt.Errorf("wecom: archive key ring: publickey_ver %d: %w", v, err)
		}
		keys[v] = k
	}
	return NewArchiveKeyRing(keys)
}

// Versions are the ring's publickey_vers, ascending (none once closed).
func (r *ArchiveKeyRing) Versions() []uint32 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]uint32, 0, len(r.keys))
	for v := range r.keys {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Decrypt base64-decodes encryptRandomKeyB64 and decrypts it with the key
// of version ver. A version without a key wraps ErrNoArchiveKey; a key
// that does not fit, a ciphertext of the wrong length or one that is not
// base64 is an *SDKError with code SDKErrDecrypt (10006), as the SDK
// would say; a closed ring gives ErrArchiveClosed.
//
// A bad padding is the same 10006 in both implementations: OpenSSL's
// implicit rejection (3.2+, which returns a synthetic plaintext instead
// of an error) is turned off so that a wrong key fails here as it does
// in crypto/rsa, rather than later in DecryptData. That error is a
// PKCS#1 v1.5 padding oracle in principle (Bleichenbacher; both
// libraries check the padding in constant time, but the error itself
// tells), exactly as the pure Go step was before and as the SDK's own
// code 10006 is: the ciphertexts are WeCom's, fetched by the SDK, not
// chosen by whoever could watch our errors.
func (r *ArchiveKeyRing) Decrypt(ver uint32, encryptRandomKeyB64 string) ([]byte, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, ErrArchiveClosed
	}
	k, ok := r.keys[ver]
	if !ok {
		return nil, fmt.Errorf("publickey_ver %d: %w", ver, ErrNoArchiveKey)
	}
	return decryptRandomKeyWith(k, encryptRandomKeyB64)
}

// Close releases the keys; later Decrypts give ErrArchiveClosed. It
// waits for Decrypts in flight.
func (r *ArchiveKeyRing) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for v, k := range r.keys {
		k.free()
		delete(r.keys, v)
	}
	return nil
}

// decryptRandomKeyWith is the RSA step with one key of either
// implementation; the errors are DecryptRandomKey's.
func decryptRandomKeyWith(k archiveRSAKey, encryptRandomKeyB64 string) ([]byte, error) {
	ct, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encryptRandomKeyB64))
	if err != nil {
		return nil, &SDKError{Op: "DecryptData", Code: SDKErrDecrypt, Msg: "encrypt_random_key is not base64"}
	}
	if len(ct) != k.size() {
		return nil, &SDKError{Op: "DecryptData", Code: SDKErrDecrypt,
			Msg: fmt.Sprintf("encrypt_random_key is %d bytes, the key of this version takes %d", len(ct), k.size())}
	}
	pt, err := k.decryptPKCS1v15(ct)
	switch {
	case errors.Is(err, errBadCiphertext):
		return nil, &SDKError{Op: "DecryptData", Code: SDKErrDecrypt, Msg: "encrypt_random_key does not decrypt with the key of this version"}
	case err != nil:
		return nil, &SDKError{Op: "DecryptData", Code: SDKErrSystem, Msg: "RSA step failed: " + err.Error()}
	}
	return pt, nil
}

// goRSAKey is the pure Go implementation (crypto/rsa).
type goRSAKey struct{ k *rsa.PrivateKey }

func (g goRSAKey) size() int { return g.k.Size() }

func (g goRSAKey) decryptPKCS1v15(ct []byte) ([]byte, error) {
	//nolint:staticcheck // PKCS#1 v1.5 is what WeCom uses (path/91774).
	pt, err := rsa.DecryptPKCS1v15(rand.Reader, g.k, ct)
	if err != nil {
		return nil, errBadCiphertext
	}
	return pt, nil
}

func (goRSAKey) free() {}
