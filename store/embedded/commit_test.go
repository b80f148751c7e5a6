package embedded

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestBackgroundWritesWaitOnlyWhileCallbacksArrive: with callbacks
// arriving, a background write waits for company (here an hour) and
// commits in the transaction of the urgent write that comes next; with
// none arriving it commits at once.
func TestBackgroundWritesWaitOnlyWhileCallbacksArrive(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy atomic.Bool
	c := newCommitter(db, 16, time.Hour, busy.Load)
	defer c.stop()
	txOf := map[string]int{} // key → the transaction that wrote it (only the committer's goroutine writes)
	put := func(key string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			txOf[key] = tx.ID()
			return b.Put([]byte(key), []byte("v"))
		}
	}

	// Quiet: no timer (an hour's wait would time the test out).
	if err := c.write(false, put("quiet")); err != nil {
		t.Fatal(err)
	}

	// Busy: hand the loop a background write ourselves, so that we know
	// it holds it (the send returns once the loop took it), then an
	// urgent one.
	busy.Store(true)
	bg := &writeCall{fn: put("background"), err: make(chan error, 1)}
	c.calls <- bg
	// The loop holds it: a loop that does not wait commits it within
	// milliseconds.
	select {
	case err := <-bg.err:
		t.Fatalf("a background write while callbacks arrive committed without waiting for company (err %v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := c.write(true, put("urgent")); err != nil {
		t.Fatal(err)
	}
	if err := <-bg.err; err != nil {
		t.Fatal(err)
	}
	if txOf["background"] != txOf["urgent"] {
		t.Errorf("the background write committed in transaction %d, the urgent one in %d: it did not wait for company while callbacks arrived",
			txOf["background"], txOf["urgent"])
	}
	if txOf["quiet"] == txOf["urgent"] {
		t.Errorf("the quiet write shares the urgent write's transaction %d", txOf["urgent"])
	}
}
