package archive_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/embedded"
	"github.com/wecomply/wecomply/archive/postgres"
	"github.com/wecomply/wecomply/archive/postgres/pgtest"
)

// backend is one archive.Store implementation the integration tests run
// on: the embedded one on a temp file, PostgreSQL in a database of the
// test's own (pgtest).
type backend struct {
	name string
	// place makes a fresh, empty place for a store: a file's path or a
	// DSN. It lasts as long as the test.
	place func(t *testing.T) string
	// open opens (or reopens) the store at place.
	open func(ctx context.Context, place string, now func() time.Time) (archive.Store, error)
	// find lists, per marker, where it lies in the clear at place (the
	// store closed, so that everything is on disk): the file's bytes, or
	// every column of every table and the database's files.
	find func(t *testing.T, place string, markers ...string) map[string][]string
	// plant writes marker in the clear at place, outside the store, to
	// show that find can fail.
	plant func(t *testing.T, place, marker string)
}

var backends = []backend{
	{
		name:  "embedded",
		place: func(t *testing.T) string { return filepath.Join(t.TempDir(), "archive.db") },
		open: func(_ context.Context, place string, now func() time.Time) (archive.Store, error) {
			return embedded.Open(place, embedded.Options{Now: now})
		},
		find: func(t *testing.T, place string, markers ...string) map[string][]string {
			t.Helper()
			raw, err := os.ReadFile(place)
			if err != nil {
				t.Fatal(err)
			}
			found := map[string][]string{}
			for _, m := range markers {
				if bytes.Contains(raw, []byte(m)) {
					found[m] = []string{place}
				}
			}
			return found
		},
		plant: func(t *testing.T, place, marker string) {
			t.Helper()
			f, err := os.OpenFile(place, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(marker); err != nil {
				t.Fatal(err)
			}
		},
	},
	{
		name:  "postgres",
		place: func(t *testing.T) string { return pgtest.DSN(t) },
		open: func(ctx context.Context, place string, now func() time.Time) (archive.Store, error) {
			return postgres.Open(ctx, place, postgres.Options{Now: now, MaxConns: 4})
		},
		find: func(t *testing.T, place string, markers ...string) map[string][]string {
			t.Helper()
			ctx := context.Background()
			found, err := pgtest.FindInFiles(ctx, place, markers...)
			if errors.Is(err, pgtest.ErrNoFiles) {
				t.Logf("only the tables are scanned: %v", err)
				found = map[string][]string{}
			} else if err != nil {
				t.Fatal(err)
			}
			for _, m := range markers {
				in, err := pgtest.Find(ctx, place, m)
				if err != nil {
					t.Fatal(err)
				}
				found[m] = append(found[m], in...)
				if len(found[m]) == 0 {
					delete(found, m)
				}
			}
			return found
		},
		plant: func(t *testing.T, place, marker string) {
			t.Helper()
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, place)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS planted (note text, blob bytea)"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, "INSERT INTO planted VALUES ('', $1)", []byte("\x00"+marker+"\xff")); err != nil {
				t.Fatal(err)
			}
		},
	},
}

// backendNamed returns the backend called name (the crash child's).
func backendNamed(t *testing.T, name string) backend {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no backend %q", name)
	return backend{}
}

// forEachBackend runs f as a subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}
