//go:build !(linux && cgo && msgaudit)

package wecom

import "crypto/rsa"

// ArchiveKeyRingBackend is the implementation of ArchiveKeyRing in this
// build: "go" (crypto/rsa) or "openssl" (libcrypto, build tag msgaudit).
const ArchiveKeyRingBackend = "go"

func newArchiveRSAKey(k *rsa.PrivateKey) (archiveRSAKey, error) { return goRSAKey{k}, nil }
