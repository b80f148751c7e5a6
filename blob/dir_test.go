package blob_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/wecomply/wecomply/blob"
	"github.com/wecomply/wecomply/blob/blobtest"
)

func openDir(t *testing.T) *blob.Dir {
	t.Helper()
	d, err := blob.OpenDir(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestDirConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return openDir(t) })
}

// TestDirModes: objects are 0600 in 0700 directories, and no temp file
// stays behind.
func TestDirModes(t *testing.T) {
	d := openDir(t)
	ctx := context.Background()
	if err := d.Put(ctx, "2026-01-02/abc", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(d.Path(), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := e.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if st.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, st.Mode().Perm(), want)
		}
		if filepath.Base(p)[0] == '.' {
			t.Errorf("%s: a temp file stayed behind", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestDirNoTraversal: no key reaches outside the directory, even through
// a symlink planted inside it.
func TestDirNoTraversal(t *testing.T) {
	parent := t.TempDir()
	d, err := blob.OpenDir(filepath.Join(parent, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	secret := filepath.Join(parent, "secret")
	if err := os.WriteFile(secret, []byte("outside"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../secret", "a/../../secret", "/etc/passwd", "..", `..\secret`} {
		if _, err := d.Get(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Get(%q): %v, want ErrInvalidKey", key, err)
		}
		if err := d.Put(ctx, key, bytes.NewReader([]byte("y")), 1); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Put(%q): %v, want ErrInvalidKey", key, err)
		}
		if err := d.Delete(ctx, key); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q): %v, want ErrInvalidKey", key, err)
		}
	}
	// A symlink inside the store that points out of it is not followed.
	if err := os.Symlink(parent, filepath.Join(d.Path(), "link")); err != nil {
		t.Fatal(err)
	}
	if rc, err := d.Get(ctx, "link/secret"); err == nil {
		rc.Close()
		t.Error("Get through a symlink out of the store succeeded")
	}
	if err := d.Put(ctx, "link/planted", bytes.NewReader([]byte("y")), 1); err == nil {
		t.Error("Put through a symlink out of the store succeeded")
	}
	if err := d.Delete(ctx, "link/secret"); err == nil {
		if _, serr := os.Stat(secret); serr != nil {
			t.Error("Delete through a symlink removed a file outside the store")
		}
	}
	if b, err := os.ReadFile(secret); err != nil || string(b) != "outside" {
		t.Errorf("the file outside the store changed: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(parent, "planted")); err == nil {
		t.Error("a file was planted outside the store")
	}
}
