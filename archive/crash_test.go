package archive_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/wecomply/wecomply/archive"
	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// Crash tests, on each backend: a child process pulls the fake archive
// into the store (the embedded file, or the test's PostgreSQL database)
// and is killed (SIGKILL) in the middle of a page — after the fetch and
// before the store, or right after the store — then this process pulls
// the same archive (the fake is deterministic from its seed and clock)
// into the same store: nothing is lost, nothing doubled, counted by msgid
// against the fake's records.

const (
	crashEnv     = "ARCHIVE_CRASH_CHILD" // the child's directory (its key); _BACKEND and _PLACE name its store
	crashSeed    = 4711
	crashRecords = 57
	crashLimit   = 10
)

// agreeAll keeps everything (the crash test is about the cursor, not
// consent); content is then sealed, so data keys are made too.
type agreeAll struct{}

func (agreeAll) Permitted(context.Context, string) (bool, error) { return true, nil }
func (agreeAll) Consent(context.Context, string, string) (archive.ConsentAnswer, error) {
	return archive.ConsentAnswer{Known: true, Agreed: true, Source: "test"}, nil
}
func (agreeAll) RoomConsent(context.Context, string, string) (archive.ConsentAnswer, error) {
	return archive.ConsentAnswer{Known: true, Agreed: true, Source: "test"}, nil
}

// crashStore kills its own process at the page-th Commit: before it
// (after the fetch) or after it returned (after the store).
type crashStore struct {
	archive.Store
	page  int
	after bool
	n     int
}

func (c *crashStore) Commit(ctx context.Context, b archive.Batch) (archive.CommitResult, error) {
	c.n++
	if c.n == c.page && !c.after {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	r, err := c.Store.Commit(ctx, b)
	if c.n == c.page && c.after {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	return r, err
}

// crashWorld is the fake archive and a puller over the store of backend
// b at place, with the key in dir: the same in the child and the parent.
func crashWorld(t *testing.T, b backend, dir, place string, wrap func(archive.Store) archive.Store) (*wecomtest.ArchiveServer, archive.Store, *archive.Puller, *archive.Keys) {
	t.Helper()
	pemBytes, err := os.ReadFile(filepath.Join(dir, "v1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := wecom.ParseArchivePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	clock := testclock.Frozen(start)
	srv := wecomtest.NewArchiveServer(wecomtest.ArchiveConfig{Seed: crashSeed, Now: clock.Now})
	srv.UploadPublicKey(&key.PublicKey)
	if _, err := srv.Generate(crashRecords); err != nil {
		t.Fatal(err)
	}
	st, err := b.open(context.Background(), place, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := archive.NewKeys(st, archive.KeysConfig{Masters: []archive.MasterKey{masterKey(t, "m1", 1)}, Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	index, _ := archive.NewIndexKey(bytes.Repeat([]byte{9}, archive.KeySize))
	var s archive.Store = st
	if wrap != nil {
		s = wrap(st)
	}
	p := &archive.Puller{
		Source: wecomtest.NewArchiveSource(srv, "", map[uint32]*rsa.PrivateKey{1: key}),
		Store:  s, Keys: keys, Index: index, Ledger: agreeAll{},
		Log: slog.New(slog.DiscardHandler), Clock: clock.Now, Limit: crashLimit,
	}
	return srv, st, p, keys
}

// TestCrashChild is the child's body; it does nothing unless run by
// TestCrashRepull.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		return // not a test of its own: the child of TestCrashRepull
	}
	page, _ := strconv.Atoi(os.Getenv(crashEnv + "_PAGE"))
	after := os.Getenv(crashEnv+"_AFTER") == "1"
	b := backendNamed(t, os.Getenv(crashEnv+"_BACKEND"))
	_, _, p, _ := crashWorld(t, b, dir, os.Getenv(crashEnv+"_PLACE"), func(s archive.Store) archive.Store { return &crashStore{Store: s, page: page, after: after} })
	for range 100 {
		r, err := p.PullOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.CaughtUp {
			break
		}
	}
	t.Fatal("the child was not killed")
}

func TestCrashRepull(t *testing.T) {
	ks, err := rsaKeys()
	if err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name  string
			page  int
			after bool
			from  uint64 // where the parent's first pull starts
		}{
			{"killed after fetch before store", 3, false, 2 * crashLimit},
			{"killed right after store", 3, true, 3 * crashLimit},
			{"killed at the first page", 1, false, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				dir, place := t.TempDir(), b.place(t)
				if err := wecomtest.WriteArchiveKeyPEM(filepath.Join(dir, "v1.pem"), ks[0], true); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), crashEnv+"="+dir, crashEnv+"_BACKEND="+b.name, crashEnv+"_PLACE="+place,
					crashEnv+"_PAGE="+strconv.Itoa(tc.page),
					crashEnv+"_AFTER="+map[bool]string{true: "1", false: "0"}[tc.after])
				out, err := cmd.CombinedOutput()
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
					t.Fatalf("child: %v, want killed by SIGKILL\n%s", err, out)
				}

				srv, st, p, keys := crashWorld(t, b, dir, place, nil)
				first, err := p.PullOnce(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if first.From != tc.from {
					t.Errorf("after the crash the pull starts at %d, want %d", first.From, tc.from)
				}
				for !first.CaughtUp {
					if first, err = p.PullOnce(context.Background()); err != nil {
						t.Fatal(err)
					}
				}
				ctx := context.Background()
				want := map[string]bool{}
				for _, r := range srv.Records() {
					want[r.MsgID] = true
				}
				stats, err := st.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if stats.Messages != int64(len(want)) || stats.Quarantined != 0 {
					t.Errorf("stored %d messages (%d quarantined), the fake has %d msgids", stats.Messages, stats.Quarantined, len(want))
				}
				if stats.Cursor != srv.Records()[len(srv.Records())-1].Seq {
					t.Errorf("cursor %d", stats.Cursor)
				}
				var got int
				for id := range want {
					m, err := st.GetMessage(ctx, id)
					if err != nil {
						t.Errorf("%s: %v", id, err)
						continue
					}
					if m.Withheld == "" {
						if _, err := keys.Open(ctx, m); err != nil {
							t.Errorf("%s: %v", id, err)
						}
					}
					got++
				}
				all, _, err := st.Search(ctx, archive.Query{Limit: 1000})
				if err != nil || len(all) != len(want) {
					t.Errorf("search lists %d messages, want %d (%v)", len(all), len(want), err)
				}
				seen := map[string]int{}
				for _, m := range all {
					if seen[m.MsgID]++; !want[m.MsgID] || seen[m.MsgID] > 1 {
						t.Errorf("search lists %s %d times; the fake has it: %v", m.MsgID, seen[m.MsgID], want[m.MsgID])
					}
				}
				t.Logf("%d msgids, all stored once", got)
			})
		}
	})
}
