//go:build linux && cgo && msgaudit

package wecom

// The OpenSSL implementation of ArchiveKeyRing: libcrypto's
// EVP_PKEY_decrypt with RSA_PKCS1_PADDING. Each key is parsed once into
// an EVP_PKEY (from its PKCS#1 DER, wiped after); every Decrypt makes and
// frees its own EVP_PKEY_CTX, so goroutines on any thread share the
// EVP_PKEY read-only, which OpenSSL 3 allows (openssl-threads(7); RSA
// blinding takes its own lock). OpenSSL's thread-local error queue is
// cleared after every call, so nothing piles up on a thread.

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/err.h>
#include <openssl/params.h>

static EVP_PKEY* wc_rsa_load(const unsigned char* der, long len) {
	const unsigned char* p = der;
	EVP_PKEY* k = d2i_PrivateKey(EVP_PKEY_RSA, NULL, &p, len);
	ERR_clear_error();
	return k;
}

// wc_rsa_decrypt: 1 decrypted (*outlen set), 0 the ciphertext does not
// decrypt under k, -1 a context could not be set up.
static int wc_rsa_decrypt(EVP_PKEY* k, const unsigned char* in, size_t inlen,
                          unsigned char* out, size_t* outlen) {
	int ret = -1;
	EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	if (ctx == NULL) goto done;
	if (EVP_PKEY_decrypt_init(ctx) <= 0) goto done;
	if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0) goto done;
	// Implicit rejection (OpenSSL 3.2+) off: a bad padding is an error,
	// as in crypto/rsa, not a synthetic plaintext. Older versions ignore
	// the unknown parameter.
	unsigned int implicit = 0;
	OSSL_PARAM params[2];
	params[0] = OSSL_PARAM_construct_uint("implicit-rejection", &implicit);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_set_params(ctx, params) <= 0) goto done;
	ret = EVP_PKEY_decrypt(ctx, out, outlen, in, inlen) > 0 ? 1 : 0;
done:
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ret;
}
*/
import "C"

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"runtime"
	"unsafe"
)

// ArchiveKeyRingBackend is the implementation of ArchiveKeyRing in this
// build: "go" (crypto/rsa) or "openssl" (libcrypto, build tag msgaudit).
const ArchiveKeyRingBackend = "openssl"

// sslRSAKey is one EVP_PKEY. A key that is never freed (its ring never
// closed) is freed by its cleanup once unreachable.
type sslRSAKey struct {
	p       *C.EVP_PKEY
	n       int
	cleanup runtime.Cleanup
}

func newArchiveRSAKey(k *rsa.PrivateKey) (archiveRSAKey, error) {
	return newSSLRSAKey(k)
}

func newSSLRSAKey(k *rsa.PrivateKey) (*sslRSAKey, error) {
	der := x509.MarshalPKCS1PrivateKey(k)
	defer clear(der)
	p := C.wc_rsa_load((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	if p == nil {
		return nil, errors.New("OpenSSL could not load the RSA key")
	}
	s := &sslRSAKey{p: p, n: k.Size()}
	s.cleanup = runtime.AddCleanup(s, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, p)
	return s, nil
}

func (s *sslRSAKey) size() int { return s.n }

func (s *sslRSAKey) decryptPKCS1v15(ct []byte) ([]byte, error) {
	if len(ct) == 0 {
		return nil, errBadCiphertext
	}
	out := make([]byte, s.n)
	outLen := C.size_t(len(out))
	rc := C.wc_rsa_decrypt(s.p, (*C.uchar)(unsafe.Pointer(&ct[0])), C.size_t(len(ct)),
		(*C.uchar)(unsafe.Pointer(&out[0])), &outLen)
	runtime.KeepAlive(s)
	switch {
	case rc < 0:
		return nil, errors.New("OpenSSL could not set up an RSA decryption context")
	case rc == 0 || int(outLen) > len(out):
		clear(out)
		return nil, errBadCiphertext
	}
	return out[:outLen:outLen], nil
}

func (s *sslRSAKey) free() {
	if s.p == nil {
		return
	}
	s.cleanup.Stop()
	C.EVP_PKEY_free(s.p)
	s.p = nil
}
