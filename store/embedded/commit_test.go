package embedded

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
)

// TestBackgroundWritesWaitOnlyWhileCallbacksArrive: with callbacks
// arriving, a background write waits for company (here an hour) until
// an urgent write joins it; with none arriving it commits at once.
func TestBackgroundWritesWaitOnlyWhileCallbacksArrive(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "c.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var busy atomic.Bool
	c := newCommitter(db, 16, time.Hour, busy.Load)
	defer c.stop()
	put := func(key string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte(key), []byte("v"))
		}
	}

	// Quiet: no timer.
	if err := c.write(false, put("quiet")); err != nil {
		t.Fatal(err)
	}

	// Busy: the background write waits until an urgent one comes.
	busy.Store(true)
	done := make(chan error, 1)
	go func() { done <- c.write(false, put("background")) }()
	select {
	case err := <-done:
		t.Fatalf("a background write while callbacks arrive committed without waiting (err %v)", err)
	case <-time.After(100 * time.Millisecond):
	}
	if err := c.write(true, put("urgent")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, k := range []string{"quiet", "background", "urgent"} {
			if tx.Bucket([]byte("b")).Get([]byte(k)) == nil {
				t.Errorf("%s not committed", k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOnlyCallbacksCountAsArriving: the store holds background writes
// back for a callback's Enqueue (a receiver path), not for the events
// wecomply enqueues itself.
func TestOnlyCallbacksCountAsArriving(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{BatchDelay: time.Hour})
	defer s.Close()
	ctx := t.Context()
	if s.enqueuing() {
		t.Error("a store just opened counts a callback as arriving")
	}
	if _, err := s.Enqueue(ctx, storeEvent("own", "policy")); err != nil {
		t.Fatal(err)
	}
	if s.enqueuing() {
		t.Error("an event of wecomply's own counts as a callback arriving")
	}
	if _, err := s.Enqueue(ctx, storeEvent("cb", "/wecom/callback")); err != nil {
		t.Fatal(err)
	}
	if !s.enqueuing() {
		t.Error("a callback's Enqueue does not count as one arriving")
	}
}

func storeEvent(key, receiver string) store.Event {
	return store.Event{DedupKey: key, Kind: "text", Receiver: receiver, ReceivedAt: time.Now(), Payload: []byte("<xml/>")}
}
