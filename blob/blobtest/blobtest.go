// Package blobtest is the conformance suite every blob.Store passes, and
// a helper that starts a real S3 server (versitygw) for tests.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/wecomply/wecomply/blob"
)

// Run runs the conformance suite against the stores open returns: one
// new, empty store per subtest.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Helper()
	ctx := context.Background()

	t.Run("PutGetRoundTrip", func(t *testing.T) {
		s := open(t)
		for _, n := range []int{0, 1, 4096, 3<<20 + 7} {
			key := fmt.Sprintf("2026-01-02/size-%d", n)
			data := randomBytes(uint64(n), n)
			if err := s.Put(ctx, key, bytes.NewReader(data), int64(n)); err != nil {
				t.Fatalf("Put %s: %v", key, err)
			}
			if got := mustGet(t, s, key); !bytes.Equal(got, data) {
				t.Fatalf("Get %s: %d bytes, want the %d put", key, len(got), n)
			}
			info, err := s.Stat(ctx, key)
			if err != nil {
				t.Fatalf("Stat %s: %v", key, err)
			}
			if info.Key != key || info.Size != int64(n) {
				t.Fatalf("Stat %s = %+v, want key %s size %d", key, info, key, n)
			}
		}
	})

	t.Run("PutReplaces", func(t *testing.T) {
		s := open(t)
		mustPut(t, s, "a/b", []byte("first version, longer"))
		mustPut(t, s, "a/b", []byte("second"))
		if got := mustGet(t, s, "a/b"); string(got) != "second" {
			t.Fatalf("Get after a second Put = %q, want %q", got, "second")
		}
	})

	t.Run("Missing", func(t *testing.T) {
		s := open(t)
		if _, err := s.Get(ctx, "no/such"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get missing: %v, want ErrNotFound", err)
		}
		if _, err := s.Stat(ctx, "no/such"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat missing: %v, want ErrNotFound", err)
		}
		if ok, err := blob.Exists(ctx, s, "no/such"); ok || err != nil {
			t.Fatalf("Exists missing = %v, %v; want false, nil", ok, err)
		}
		if err := s.Delete(ctx, "no/such"); err != nil {
			t.Fatalf("Delete missing: %v, want nil", err)
		}
		// A key that is a "directory" of other keys is no object.
		mustPut(t, s, "dir/file", []byte("x"))
		if _, err := s.Get(ctx, "dir"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get of a key prefix: %v, want ErrNotFound", err)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		mustPut(t, s, "d/1", []byte("one"))
		mustPut(t, s, "d/2", []byte("two"))
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if ok, err := blob.Exists(ctx, s, "d/1"); ok || err != nil {
			t.Fatalf("Exists after Delete = %v, %v; want false, nil", ok, err)
		}
		if got := mustGet(t, s, "d/2"); string(got) != "two" {
			t.Fatalf("the other key after Delete = %q", got)
		}
		if err := s.Delete(ctx, "d/1"); err != nil {
			t.Fatalf("Delete twice: %v", err)
		}
	})

	t.Run("List", func(t *testing.T) {
		s := open(t)
		if keys, err := s.List(ctx, ""); err != nil || len(keys) != 0 {
			t.Fatalf("List of an empty store = %v, %v", keys, err)
		}
		all := []string{"2026-01-01/aa", "2026-01-01/bb", "2026-01-02/aa", "2026-02-01/x/y", "top"}
		for _, k := range slices.Backward(all) {
			mustPut(t, s, k, []byte(k))
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", all},
			{"2026-01-01/", all[:2]},
			{"2026-01", all[:3]},
			{"2026-01-01/b", all[1:2]},
			{"2026-02-01/x/", all[3:4]},
			{"2027", nil},
			{"nothing/here/", nil},
		} {
			got, err := s.List(ctx, tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		}
	})

	t.Run("InvalidKeys", func(t *testing.T) {
		s := open(t)
		mustPut(t, s, "inside", []byte("x"))
		for _, key := range []string{
			"", "/abs", "trailing/", "a//b", ".", "..", "../escape", "a/../../escape", "a/./b",
			".hidden", "a/.tmp-1", `back\slash`, "nul\x00", "space here", "ü", string(make([]byte, blob.MaxKeyLen+1)),
		} {
			if err := s.Put(ctx, key, bytes.NewReader([]byte("x")), 1); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Get(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Get(%q): %v, want ErrInvalidKey", key, err)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Stat(%q): %v, want ErrInvalidKey", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("Delete(%q): %v, want ErrInvalidKey", key, err)
			}
		}
		for _, p := range []string{"/", "../", "a//", "..", "a/../"} {
			if _, err := s.List(ctx, p); !errors.Is(err, blob.ErrInvalidKey) {
				t.Errorf("List(%q): %v, want ErrInvalidKey", p, err)
			}
		}
		if keys, err := s.List(ctx, ""); err != nil || !slices.Equal(keys, []string{"inside"}) {
			t.Fatalf("after refused keys List = %q, %v; want only %q", keys, err, "inside")
		}
	})

	t.Run("SizeMismatchStoresNothing", func(t *testing.T) {
		s := open(t)
		if err := s.Put(ctx, "short", bytes.NewReader([]byte("abc")), 10); !errors.Is(err, blob.ErrSize) {
			t.Errorf("Put of a short reader: %v, want ErrSize", err)
		}
		if err := s.Put(ctx, "long", bytes.NewReader([]byte("abcdef")), 3); !errors.Is(err, blob.ErrSize) {
			t.Errorf("Put of a long reader: %v, want ErrSize", err)
		}
		if err := s.Put(ctx, "negative", bytes.NewReader(nil), -1); !errors.Is(err, blob.ErrSize) {
			t.Errorf("Put with size -1: %v, want ErrSize", err)
		}
		mustPut(t, s, "kept", []byte("old"))
		if err := s.Put(ctx, "kept", bytes.NewReader([]byte("ne")), 3); !errors.Is(err, blob.ErrSize) {
			t.Errorf("Put over an object with a short reader: %v, want ErrSize", err)
		}
		if got := mustGet(t, s, "kept"); string(got) != "old" {
			t.Errorf("a failed Put changed the object to %q", got)
		}
		if keys, err := s.List(ctx, ""); err != nil || !slices.Equal(keys, []string{"kept"}) {
			t.Fatalf("after failed Puts List = %q, %v; want only %q", keys, err, "kept")
		}
	})

	t.Run("FailingReaderStoresNothing", func(t *testing.T) {
		s := open(t)
		boom := errors.New("reader broke")
		r := io.MultiReader(bytes.NewReader([]byte("some bytes")), errReader{boom})
		if err := s.Put(ctx, "broken", r, 100); err == nil {
			t.Fatal("Put of a failing reader: nil error")
		}
		if ok, err := blob.Exists(ctx, s, "broken"); ok || err != nil {
			t.Fatalf("Exists after a failed Put = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for i := range 16 {
			wg.Go(func() {
				key := fmt.Sprintf("c/%02d", i)
				data := randomBytes(uint64(i), 10_000+i)
				if err := s.Put(ctx, key, bytes.NewReader(data), int64(len(data))); err != nil {
					errs <- err
					return
				}
				rc, err := s.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				got, err := io.ReadAll(rc)
				if err != nil || !bytes.Equal(got, data) {
					errs <- fmt.Errorf("%s: read back %d bytes, %v", key, len(got), err)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if keys, err := s.List(ctx, "c/"); err != nil || len(keys) != 16 {
			t.Fatalf("List after 16 concurrent Puts = %d keys, %v", len(keys), err)
		}
	})

	t.Run("CanceledContext", func(t *testing.T) {
		s := open(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Put(cctx, "canceled", bytes.NewReader([]byte("x")), 1); err == nil {
			t.Error("Put with a canceled context: nil error")
		}
		if ok, err := blob.Exists(ctx, s, "canceled"); ok || err != nil {
			t.Fatalf("Exists after a canceled Put = %v, %v; want false, nil", ok, err)
		}
	})
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x626c6f62))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func mustPut(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatalf("Put %s: %v", key, err)
	}
}

func mustGet(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}
