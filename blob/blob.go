// Package blob stores opaque objects by key: media files of the session
// archive, already sealed by the caller. Two implementations share one
// contract and one conformance suite (blob/blobtest): Dir, a local
// directory (the embedded setup), and S3, any S3-compatible object store
// through minio-go (at scale).
//
// Keys are slash-separated paths of safe segments (ValidKey); a key is
// never a file-system path of the caller's choosing, so no key reaches
// outside the store.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Sentinel errors.
var (
	// ErrNotFound: no object has that key.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey: the key or prefix breaks the rules of ValidKey.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrSize: Put's reader did not yield exactly the size given.
	ErrSize = errors.New("blob: size mismatch")
)

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// Store is the contract of a blob store. Every method takes a context
// first and is safe for concurrent use.
type Store interface {
	// Put stores the size bytes of r under key, replacing any object of
	// that key. It is atomic: a Get sees the old object or the whole new
	// one, never a part. A reader that yields fewer or more bytes than
	// size fails with ErrSize (wrapped) and stores nothing.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Get opens the object key, or fails with ErrNotFound. The caller
	// closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object key, or fails with ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the object key; deleting a missing key is no error.
	Delete(ctx context.Context, key string) error
	// List returns the keys that start with prefix ("" for all), sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// Exists reports whether s has an object under key.
func Exists(ctx context.Context, s Store, key string) (bool, error) {
	_, err := s.Stat(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	default:
		return false, err
	}
}

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 512

// ValidKey checks key: 1 to MaxKeyLen bytes of segments separated by
// single slashes, each segment made of ASCII letters, digits, '-', '_'
// and '.', not starting with '.' (so never "." or "..", and never a
// store's own hidden temp files). No leading or trailing slash.
func ValidKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty", ErrInvalidKey)
	}
	if len(key) > MaxKeyLen {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInvalidKey, len(key), MaxKeyLen)
	}
	for seg := range strings.SplitSeq(key, "/") {
		if err := validSegment(seg); err != nil {
			return fmt.Errorf("%w: %q: %s", ErrInvalidKey, key, err)
		}
	}
	return nil
}

// ValidPrefix checks a List prefix: "" or a key, optionally ending in '/'
// (the last segment may be a partial one, e.g. "2026-01").
func ValidPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	p := strings.TrimSuffix(prefix, "/")
	if p == "" {
		return fmt.Errorf("%w: prefix %q", ErrInvalidKey, prefix)
	}
	if err := ValidKey(p); err != nil {
		return fmt.Errorf("prefix: %w", err)
	}
	return nil
}

func validSegment(seg string) error {
	if seg == "" {
		return errors.New("empty segment (leading, trailing or double slash)")
	}
	if seg[0] == '.' {
		return errors.New("segment starts with '.'")
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("byte %#x at %d not allowed (letters, digits, - _ . only)", c, i)
		}
	}
	return nil
}

// countingReader counts what it reads, to check Put's size.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
