package embedded

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/archive/archivetest"
	"github.com/wecomply/wecomply/internal/testclock"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{Now: testclock.New(t).Now})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, archive.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) archive.Store {
		return open(t, filepath.Join(t.TempDir(), "archive.db"))
	})
}

func TestReopen(t *testing.T) {
	archivetest.RunReopen(t,
		func(t *testing.T) archive.Store { return open(t, filepath.Join(t.TempDir(), "archive.db")) },
		func(t *testing.T, s archive.Store) archive.Store {
			path := s.(*Store).Path()
			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return open(t, path)
		})
}

// crashEnv names the file the crash child writes to.
const crashEnv = "WECOMPLY_ARCHIVE_CRASH_FILE"

// TestCrashChild is the process TestCrash kills.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash only")
	}
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	archivetest.CrashChild(t, s)
}

// TestCrash kills (SIGKILL) a process in the middle of committing and
// checks that the file holds every batch up to its cursor and nothing
// after it.
func TestCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.db")
	archivetest.RunCrash(t, "TestCrashChild", crashEnv, path, func(t *testing.T) archive.Store {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "archive.db")
	open(t, path)
	for p, want := range map[string]os.FileMode{path: 0o600, filepath.Dir(path): 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
}

func TestOpenLockedFileFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "archive.db")
	open(t, path)
	if _, err := Open(path, Options{OpenTimeout: 100 * time.Millisecond}); err == nil {
		t.Fatal("second Open of a file in use succeeded")
	}
}

// TestStoredAtFromClock checks that a message given no StoredAt gets the
// injected clock's time.
func TestStoredAtFromClock(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "archive.db"), Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	m := archive.Message{MsgID: "m1", Time: at.Add(-time.Hour), From: "a", ToList: []string{"b"}, Conversation: "single:a|b"}
	if _, err := s.Commit(ctx, archive.Batch{From: 0, To: 1, Messages: []archive.Message{m}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMessage(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !got.StoredAt.Equal(at) || !st.LastCommit.Equal(at) {
		t.Errorf("StoredAt %v, LastCommit %v; want %v", got.StoredAt, st.LastCommit, at)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	g := archivetest.NewGenerator(9)
	for range 50 {
		m := g.Message(1)
		v := encodeMessage(m, listRef(m.ToList))
		lists := func([]byte) ([]string, error) { return m.ToList, nil }
		if got, err := decodeMessage(v, lists); err != nil || got.MsgID != m.MsgID || len(got.ToList) != len(m.ToList) {
			t.Fatalf("decode: %+v, %v", got, err)
		}
		for i := range len(v) {
			// Every truncation is an error, never a panic.
			if _, err := decodeMessage(v[:i], lists); err == nil {
				t.Fatalf("decoding %d of %d bytes succeeded", i, len(v))
			}
		}
	}
}

func BenchmarkArchive(b *testing.B) {
	archivetest.Bench(b, func(b *testing.B) archive.Store {
		s, err := Open(filepath.Join(b.TempDir(), "archive.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		return s
	})
}
