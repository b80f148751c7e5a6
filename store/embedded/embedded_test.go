package embedded

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/auditlog"
	"github.com/wecomply/wecomply/store/storetest"
)

func open(t testing.TB, path string, o Options) *Store {
	t.Helper()
	s, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t,
		func(t *testing.T, q store.QueueOptions) store.Store {
			return open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{Queue: q})
		},
		storetest.Options{
			Reopen: func(t *testing.T, s store.Store, q store.QueueOptions) store.Store {
				path := s.(*Store).Path()
				if err := s.Close(); err != nil {
					t.Fatalf("Close: %v", err)
				}
				return open(t, path, Options{Queue: q})
			},
			TamperAudit: func(t *testing.T, s store.Store, seq uint64, mutate func(*store.AuditEntry)) {
				rawAudit(t, s, func(b *bolt.Bucket) error {
					v := b.Get(idKey(seq))
					if v == nil {
						return fmt.Errorf("no entry stored at %d", seq)
					}
					e, err := auditlog.Unmarshal(v)
					if err != nil {
						return err
					}
					mutate(&e)
					if v, err = auditlog.Marshal(e); err != nil {
						return err
					}
					return b.Put(idKey(seq), v)
				})
			},
			DeleteAuditRaw: func(t *testing.T, s store.Store, seq uint64) {
				rawAudit(t, s, func(b *bolt.Bucket) error { return b.Delete(idKey(seq)) })
			},
			SwapAuditRaw: func(t *testing.T, s store.Store, a, b uint64) {
				rawAudit(t, s, func(bk *bolt.Bucket) error {
					va, vb := slices.Clone(bk.Get(idKey(a))), slices.Clone(bk.Get(idKey(b)))
					if va == nil || vb == nil {
						return fmt.Errorf("no entries stored at %d and %d", a, b)
					}
					if err := bk.Put(idKey(a), vb); err != nil {
						return err
					}
					return bk.Put(idKey(b), va)
				})
			},
		})
}

// rawAudit changes the stored audit log directly, bypassing the store.
func rawAudit(t *testing.T, s store.Store, fn func(*bolt.Bucket) error) {
	t.Helper()
	err := s.(*Store).db.Update(func(tx *bolt.Tx) error { return fn(tx.Bucket(bucketAudit)) })
	if err != nil {
		t.Fatalf("tamper with the audit log: %v", err)
	}
}

func TestOpenCreatesPrivateDirAndFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "wecomply.db")
	open(t, path, Options{})
	for p, want := range map[string]os.FileMode{
		path:                             0o600,
		filepath.Dir(path):               0o700,
		filepath.Dir(filepath.Dir(path)): 0o700,
	} {
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
	path := filepath.Join(t.TempDir(), "wecomply.db")
	open(t, path, Options{})
	start := time.Now()
	_, err := Open(path, Options{OpenTimeout: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("second Open of a file in use succeeded")
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("second Open took %v", time.Since(start))
	}
}

// TestEnqueueSurvivesBatchRetries forces the committer to roll back and
// re-run groups (a function that fails makes the whole group run again
// without it) while many Enqueues share them: every Enqueue must still report its own
// final outcome, and nothing may be added twice or lost.
func TestEnqueueSurvivesBatchRetries(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{BatchDelay: 5 * time.Millisecond})
	ctx := context.Background()
	const keys, racers = 50, 4
	var added [keys]atomic.Int32
	var wg sync.WaitGroup
	boom := errors.New("boom")
	stop := make(chan struct{})
	var spoilers sync.WaitGroup
	for range 4 {
		spoilers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := s.w.write(false, func(*bolt.Tx) error { return boom }); !errors.Is(err, boom) {
					t.Errorf("spoiler write: %v", err)
				}
			}
		})
	}
	for i := range keys * racers {
		wg.Go(func() {
			ok, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprintf("k%d", i%keys), Payload: []byte{byte(i)}})
			if err != nil {
				t.Errorf("Enqueue: %v", err)
			}
			if ok {
				added[i%keys].Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	spoilers.Wait()
	for k := range added {
		if n := added[k].Load(); n != 1 {
			t.Errorf("key k%d added %d times, want 1", k, n)
		}
	}
	st, err := s.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Ready != keys {
		t.Errorf("Ready = %d, want %d", st.Ready, keys)
	}
	ids := map[string]bool{}
	ds, err := s.Claim(ctx, "c", 2*keys, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if ids[d.ID] {
			t.Errorf("ID %s delivered twice", d.ID)
		}
		ids[d.ID] = true
	}
	if len(ds) != keys {
		t.Errorf("claimed %d, want %d", len(ds), keys)
	}
}

func TestInjectedClock(t *testing.T) {
	clock := testclock.Frozen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{
		Queue: store.QueueOptions{Lease: time.Minute, MaxAttempts: 3, DedupTTL: time.Hour},
		Now:   clock.Now,
	})
	ctx := context.Background()
	claim := func() []store.Delivery {
		t.Helper()
		ds, err := s.Claim(ctx, "c", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	if _, err := s.Enqueue(ctx, store.Event{DedupKey: "a"}); err != nil {
		t.Fatal(err)
	}
	first := claim()[0]

	clock.Advance(59 * time.Second)
	if ds := claim(); len(ds) != 0 {
		t.Fatal("reclaimed before the lease ended")
	}
	clock.Advance(time.Second)
	ds := claim()
	if len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("after the lease: %+v, want one delivery with 1 attempt", ds)
	}
	if _, err := s.Fail(ctx, first.Receipt, "x", 10*time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Fail by the claim whose lease was taken over: %v, want store.ErrNotFound", err)
	}
	if _, err := s.Fail(ctx, ds[0].Receipt, "x", 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	clock.Advance(10*time.Minute - time.Microsecond)
	if ds := claim(); len(ds) != 0 {
		t.Fatal("claimable before retryAfter")
	}
	clock.Advance(time.Microsecond)
	if ds := claim(); len(ds) != 1 || ds[0].Attempts != 2 {
		t.Fatalf("after retryAfter: %+v, want one delivery with 2 attempts", ds)
	}

	if added, _ := s.Enqueue(ctx, store.Event{DedupKey: "a"}); added {
		t.Fatal("dedup key forgotten within DedupTTL")
	}
	clock.Advance(time.Hour)
	if added, _ := s.Enqueue(ctx, store.Event{DedupKey: "a"}); !added {
		t.Fatal("expired dedup key still counted (not treated as absent)")
	}
}

func TestSweeperDeletesExpiredDedupKeys(t *testing.T) {
	clock := testclock.Frozen(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{
		Queue:         store.QueueOptions{DedupTTL: time.Hour},
		SweepInterval: 10 * time.Millisecond,
		Now:           clock.Now,
	})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("old", i)}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(30 * time.Minute)
	if _, err := s.Enqueue(ctx, store.Event{DedupKey: "new"}); err != nil {
		t.Fatal(err)
	}
	// Re-enqueue an old key after expiry: its new expiry must survive the
	// sweep of its old one.
	clock.Advance(31 * time.Minute)
	if added, err := s.Enqueue(ctx, store.Event{DedupKey: "old0"}); err != nil || !added {
		t.Fatalf("re-Enqueue after expiry = %v, %v", added, err)
	}
	count := func() (dedup, exp int) {
		err := s.db.View(func(tx *bolt.Tx) error {
			dedup = tx.Bucket(bucketDedup).Stats().KeyN
			exp = tx.Bucket(bucketDedupExp).Stats().KeyN
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, e := count()
		if d == 2 && e == 2 { // "new" and the re-enqueued "old0"
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after sweeping: %d dedup keys, %d expiry index entries; want 2, 2", d, e)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if added, _ := s.Enqueue(ctx, store.Event{DedupKey: "old0"}); added {
		t.Error("sweep deleted the live dedup key of old0")
	}
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, filepath.Join(b.TempDir(), "wecomply.db"), Options{})
	})
}

// TestCommitterSurvivesAPanickingWrite: a write that panics gets an error;
// the writes sharing its group still commit, and the store goes on.
func TestCommitterSurvivesAPanickingWrite(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{BatchDelay: 20 * time.Millisecond})
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.w.write(false, func(*bolt.Tx) error { panic("bad write") }); err == nil || !strings.Contains(err.Error(), "bad write") {
			t.Errorf("panicking write: %v", err)
		}
	})
	for i := range 5 {
		wg.Go(func() {
			if ok, err := s.Enqueue(ctx, store.Event{DedupKey: fmt.Sprint("p", i)}); err != nil || !ok {
				t.Errorf("Enqueue beside a panicking write: %v %v", ok, err)
			}
		})
	}
	wg.Wait()
	if st, err := s.QueueStats(ctx); err != nil || st.Ready != 5 {
		t.Errorf("QueueStats = %+v, %v; want 5 ready", st, err)
	}
}

// TestWritesAfterCloseFail: a write after Close is refused with ErrClosed,
// it does not hang.
func TestWritesAfterCloseFail(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.w.write(false, func(*bolt.Tx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("write after Close: %v, want ErrClosed", err)
	}
}

func TestSendTimesRoundTrip(t *testing.T) {
	for _, ts := range [][]int64{
		nil,
		{0},
		{-5, -5, 0, 7},
		{1772600000000, 1772600000001, 1772600060000, 1772603600000},
		{math.MinInt64 / 2, math.MaxInt64 / 2},
	} {
		got, err := decodeTimes(encodeTimes(ts))
		if err != nil || !slices.Equal(got, ts) {
			t.Errorf("decodeTimes(encodeTimes(%v)) = %v, %v", ts, got, err)
		}
	}
	if _, err := decodeTimes([]byte{0x80}); err == nil {
		t.Error("decodeTimes of a truncated varint succeeded")
	}
}

// TestExpiringValuesFollowTheClockAndAreSwept: leases, tokens, booking
// markers, send records and quota counters expire by the injected clock,
// and the sweeper deletes them and their index entries, so that nothing
// grows without bound.
func TestExpiringValuesFollowTheClockAndAreSwept(t *testing.T) {
	clock := testclock.Frozen(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := open(t, filepath.Join(t.TempDir(), "wecomply.db"), Options{SweepInterval: time.Hour, Now: clock.Now})
	ctx := context.Background()
	start := clock.Now()

	if ok, err := s.AcquireLease(ctx, "leader", "a", time.Minute); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	if err := s.PutToken(ctx, "app", "tok", start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	b := store.SendBooking{UnitID: "u1", Scope: "app", Members: []string{"a", "b"}, At: start,
		MemberWindows: []store.RateWindow{{Period: time.Minute, Limit: 1}}, DailyQuota: 10, MarkerTTL: time.Hour}
	if res, err := s.BookSend(ctx, b); err != nil || res.Already || len(res.Blocked) != 0 {
		t.Fatalf("BookSend = %+v, %v", res, err)
	}

	clock.Advance(time.Minute)
	if ok, _ := s.AcquireLease(ctx, "leader", "b", time.Minute); !ok {
		t.Error("lease not expired after its ttl on the injected clock")
	}
	clock.Advance(time.Hour)
	if v, _, err := s.GetToken(ctx, "app"); err != nil || v != "" {
		t.Errorf("GetToken after expiry = %q, %v; want a miss", v, err)
	}
	if res, err := s.BookSend(ctx, b); err != nil || res.Already {
		t.Errorf("BookSend after the marker's TTL = %+v, %v; want it checked again", res, err)
	}

	count := func() map[string]int {
		n := map[string]int{}
		err := s.db.View(func(tx *bolt.Tx) error {
			for _, name := range [][]byte{bucketLeases, bucketTokens, bucketBooked, bucketSends, bucketQuota, bucketExpiry} {
				n[string(name)] = tx.Bucket(name).Stats().KeyN
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n["sends"] != 2 || n["quota"] != 1 || n["expiry"] == 0 {
		t.Fatalf("before sweeping: %v", n)
	}
	clock.Advance(72 * time.Hour)
	if _, err := s.sweepExpiring(); err != nil {
		t.Fatal(err)
	}
	for name, n := range count() {
		if n != 0 {
			t.Errorf("after sweeping, bucket %s holds %d keys, want none", name, n)
		}
	}
}
