package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

func openStore(t *testing.T, q store.QueueOptions) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// enqueue puts n distinct create_user events in the queue.
func enqueue(t *testing.T, s store.Queue, n int) []string {
	t.Helper()
	var keys []string
	for i := range n {
		plain, err := wecomtest.BuildEvent(wecomtest.EventSpec{Kind: "change_contact.create_user", UserID: fmt.Sprintf("u%d", i), CreateTime: 1700000000})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := wecom.Decode(plain)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Enqueue(context.Background(), store.Event{DedupKey: ev.DedupKey(), Kind: ev.Kind(), Receiver: "/cb",
			ReceivedAt: time.Unix(1700000000+int64(i), 0), Payload: plain}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, ev.DedupKey())
	}
	return keys
}

func newPool(t *testing.T, s store.Queue, h Handler, cfg Config) *Pool {
	t.Helper()
	reg := prometheus.NewRegistry()
	if cfg.Count == 0 {
		cfg.Count, cfg.Batch = 2, 4
	}
	if cfg.ClaimWait == 0 {
		cfg.ClaimWait = 50 * time.Millisecond
	}
	pool, err := New(s, h, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	return pool
}

// runPool runs the pool until stop is called; stop waits for Run to return.
func runPool(pool *Pool) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// empty reports whether q holds no entry, ready or leased.
func empty(q store.Queue) bool {
	st, err := q.QueueStats(context.Background())
	return err == nil && st.Ready == 0 && st.Leased == 0
}

func TestEventLoggerRecordsEveryEventOnce(t *testing.T) {
	s := openStore(t, store.QueueOptions{})
	keys := enqueue(t, s, 25)
	pool := newPool(t, s, NewMux(EventLogger{Log: s}), Config{})
	stop := runPool(pool)
	defer stop()
	var entries []store.LogEntry
	eventually(t, "25 log entries", func() bool {
		var err error
		entries, _, err = s.ListEventLog(context.Background(), "", store.Page{Limit: 100})
		return err == nil && len(entries) == 25
	})
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.DedupKey] = true
		if e.Kind != "change_contact.create_user" || e.Receiver != "/cb" || e.CreateTime != 1700000000 || e.Fields["user_id"] == "" {
			t.Errorf("entry %+v", e)
		}
	}
	for _, k := range keys {
		if !seen[k] {
			t.Errorf("event %s not logged", k)
		}
	}
	eventually(t, "acked queue", func() bool { return empty(s) })
	// The worker counts an event after acking it: wait for the count too.
	eventually(t, "25 processed ok", func() bool {
		return testutil.ToFloat64(pool.metrics.processed.WithLabelValues("change_contact.create_user", "ok")) >= 25
	})
	if got := testutil.ToFloat64(pool.metrics.processed.WithLabelValues("change_contact.create_user", "ok")); got != 25 {
		t.Errorf("processed ok = %v, want 25", got)
	}
}

// TestFailuresRetryThenDeadLetter: a processor that keeps failing is
// retried with backoff and its event ends in the dead letters with the
// last error; one that panics does not take the worker down.
func TestFailuresRetryThenDeadLetter(t *testing.T) {
	for _, tt := range []struct {
		name string
		proc ProcessorFunc
		want string
	}{
		{"error", func(context.Context, store.Delivery, wecom.Event) error { return errors.New("wecom api down") }, "wecom api down"},
		{"panic", func(context.Context, store.Delivery, wecom.Event) error { panic("nil map") }, "handler panicked: nil map"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t, store.QueueOptions{MaxAttempts: 3})
			enqueue(t, s, 1)
			var calls atomic.Int32
			proc := ProcessorFunc(func(ctx context.Context, d store.Delivery, ev wecom.Event) error {
				if int(calls.Add(1)) != d.Attempts+1 {
					t.Errorf("call %d saw Attempts %d", calls.Load(), d.Attempts)
				}
				return tt.proc(ctx, d, ev)
			})
			pool := newPool(t, s, NewMux(proc), Config{Backoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond})
			stop := runPool(pool)
			defer stop()
			var dead []store.DeadLetter
			eventually(t, "a dead letter", func() bool {
				dead, _, _ = s.ListDeadLetters(context.Background(), store.Page{})
				return len(dead) == 1
			})
			if calls.Load() != 3 || dead[0].Attempts != 3 || dead[0].LastError != tt.want {
				t.Errorf("calls %d, dead letter %+v; want 3 attempts and %q", calls.Load(), dead[0], tt.want)
			}
			eventually(t, "the dead letters metric", func() bool { return testutil.ToFloat64(pool.metrics.dead) == 1 })
		})
	}
}

// TestShutdownFinishesInFlightAndReleasesTheRest: on shutdown the event in
// hand is finished (with a live context) and acked; the others are
// claimable at once, with no attempt counted. (The pool claims only for
// a worker waiting, so its one worker never held them: what it hands to
// no worker it gives back, but that window is too short to aim at.)
func TestShutdownFinishesInFlightAndReleasesTheRest(t *testing.T) {
	s := openStore(t, store.QueueOptions{Lease: time.Minute})
	enqueue(t, s, 5)
	started := make(chan struct{})
	finish := make(chan struct{})
	var once sync.Once
	var processed atomic.Int32
	proc := ProcessorFunc(func(ctx context.Context, d store.Delivery, ev wecom.Event) error {
		once.Do(func() { close(started) })
		<-finish
		if ctx.Err() != nil {
			t.Errorf("in-flight event's context was cancelled by shutdown: %v", ctx.Err())
		}
		processed.Add(1)
		return nil
	})
	pool := newPool(t, s, NewMux(proc), Config{Count: 1, Batch: 5})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pool.Run(ctx); close(done) }()
	<-started
	cancel()
	select {
	case <-done:
		t.Fatal("Run returned before the in-flight event finished")
	case <-time.After(50 * time.Millisecond):
	}
	close(finish)
	<-done
	if processed.Load() != 1 {
		t.Fatalf("processed %d events after shutdown began, want 1", processed.Load())
	}
	// The other four are claimable now (the lease is a minute), unpenalised:
	// none was held behind the one in hand.
	ds, err := s.Claim(context.Background(), "next", 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 4 {
		t.Fatalf("claimable after shutdown: %d, want 4", len(ds))
	}
	for _, d := range ds {
		if d.Attempts != 0 {
			t.Errorf("released event has Attempts %d, want 0", d.Attempts)
		}
	}
}

// TestHeldEntriesKeepTheirLeases: an entry the pool holds keeps its
// lease however long it is held. With a lease of 300 ms and handlers of
// 450 ms, the leases of entries in hand ran out and idle workers took them
// over and handled them a second time (when each worker claimed a batch
// of 4 and worked through it, the entries waiting their turn lost theirs
// too: 4 of 8 events handled twice with 120 ms handlers, every run), each
// takeover counted as a failed attempt.
func TestHeldEntriesKeepTheirLeases(t *testing.T) {
	q := store.QueueOptions{Lease: 300 * time.Millisecond, MaxAttempts: 5}
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			s := openQueue(t, backend, q)
			keys := enqueue(t, s, 8)
			var mu sync.Mutex
			handled := map[string]int{}
			attempts := 0
			h := HandlerFunc(func(_ context.Context, d store.Delivery) error {
				time.Sleep(450 * time.Millisecond) // a slow WeCom call
				mu.Lock()
				defer mu.Unlock()
				handled[d.DedupKey]++
				attempts += d.Attempts
				return nil
			})
			pool := newPool(t, s, h, Config{Count: 3, Batch: 4, Lease: q.Lease, EventTimeout: time.Second})
			stop := runPool(pool)
			defer stop()
			eventually(t, "every event handled and acked", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return empty(s) && len(handled) == len(keys)
			})
			mu.Lock()
			defer mu.Unlock()
			for _, k := range keys {
				if handled[k] != 1 {
					t.Errorf("%s handled %d times, want once", k, handled[k])
				}
			}
			if attempts != 0 {
				t.Errorf("%d failed attempts counted (leases taken over), want 0", attempts)
			}
		})
	}
}

// TestAFreeWorkerDoesNotWaitBehindABusyOne: entries are claimed for the
// workers free to start them, so one slow event does not hold back the
// entries claimed with it while another worker idles. The slow handler
// here finishes only once the three others are done; when a worker
// claimed a batch of 4 and worked through it, they waited behind it.
func TestAFreeWorkerDoesNotWaitBehindABusyOne(t *testing.T) {
	s := openStore(t, store.QueueOptions{Lease: time.Minute})
	keys := enqueue(t, s, 4)
	others := make(chan struct{}, len(keys))
	h := HandlerFunc(func(ctx context.Context, d store.Delivery) error {
		if d.DedupKey != keys[0] {
			others <- struct{}{}
			return nil
		}
		for range len(keys) - 1 {
			select {
			case <-others:
			case <-ctx.Done():
				return errors.New("the other events were not handled while this one waited")
			}
		}
		return nil
	})
	pool := newPool(t, s, h, Config{Count: 2, Batch: 4, EventTimeout: 5 * time.Second})
	stop := runPool(pool)
	defer stop()
	eventually(t, "every event acked", func() bool { return empty(s) })
	if dead, _, _ := s.ListDeadLetters(context.Background(), store.Page{}); len(dead) != 0 {
		t.Errorf("dead letters: %+v", dead)
	}
	if got := testutil.ToFloat64(pool.metrics.processed.WithLabelValues("change_contact.create_user", "retry")); got != 0 {
		t.Errorf("%v retries: the slow event timed out waiting for the others", got)
	}
}

// openQueue opens a fresh store of backend ("embedded" or "redis", a
// real redis-server) with q.
func openQueue(t *testing.T, backend string, q store.QueueOptions) store.Queue {
	t.Helper()
	if backend == "embedded" {
		return openStore(t, q)
	}
	rs, err := redisstore.Open(context.Background(), redisstore.Options{URL: redistest.Start(t), Namespace: "wwtest", Queue: q})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	return rs
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {6, time.Minute}, {60, time.Minute},
	}
	for _, tt := range tests {
		if got := backoff(time.Second, time.Minute, tt.attempts); got != tt.want {
			t.Errorf("backoff(1s, 1m, %d) = %s, want %s", tt.attempts, got, tt.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	s := openStore(t, store.QueueOptions{})
	if _, err := New(s, NewMux(EventLogger{Log: s}), Config{Count: 0, Batch: 1}, slog.Default(), prometheus.NewRegistry()); err == nil {
		t.Error("Count 0 accepted")
	}
}

// TestMuxRoutesJobsAndEvents: jobs go to their handler undecoded, events
// decoded to the processor, and an unknown job kind is an error (retried,
// then dead-lettered) rather than a silent drop.
func TestMuxRoutesJobsAndEvents(t *testing.T) {
	var gotJob, gotEvent string
	m := NewMux(ProcessorFunc(func(_ context.Context, _ store.Delivery, ev wecom.Event) error {
		gotEvent = ev.Kind()
		return nil
	}))
	m.HandleJob("job.test", HandlerFunc(func(_ context.Context, d store.Delivery) error {
		gotJob = string(d.Payload)
		return nil
	}))
	ctx := context.Background()
	if err := m.Handle(ctx, store.Delivery{Event: store.Event{Kind: "job.test", Payload: []byte(`{"x":1}`)}}); err != nil || gotJob != `{"x":1}` {
		t.Errorf("job: %v, payload %q", err, gotJob)
	}
	plain, _ := wecomtest.BuildEvent(wecomtest.EventSpec{Kind: "enter_agent", UserID: "u"})
	if err := m.Handle(ctx, store.Delivery{Event: store.Event{Kind: "enter_agent", Payload: plain}}); err != nil || gotEvent != "enter_agent" {
		t.Errorf("event: %v, kind %q", err, gotEvent)
	}
	if err := m.Handle(ctx, store.Delivery{Event: store.Event{Kind: "job.unknown"}}); err == nil {
		t.Error("unknown job kind accepted")
	}
	defer func() {
		if recover() == nil {
			t.Error("HandleJob accepted a kind without the job prefix")
		}
	}()
	m.HandleJob("test", HandlerFunc(func(context.Context, store.Delivery) error { return nil }))
}

// waitErr is a handler's "later" answer, as a package that runs on the
// pool declares its own (notify.WaitError).
type waitErr time.Duration

func (w waitErr) Error() string             { return "wait " + time.Duration(w).String() }
func (w waitErr) RetryAfter() time.Duration { return time.Duration(w) }

// TestLaterPostponesWithoutAnAttempt: a handler whose error has a
// RetryAfter method (wrapped or not) gets its entry back after the wait,
// with no attempt counted.
func TestLaterPostponesWithoutAnAttempt(t *testing.T) {
	s := openStore(t, store.QueueOptions{MaxAttempts: 2})
	enqueue(t, s, 1)
	var mu sync.Mutex
	var at []time.Time
	h := HandlerFunc(func(_ context.Context, d store.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if d.Attempts != 0 {
			t.Errorf("Attempts = %d after postponements, want 0", d.Attempts)
		}
		switch len(at) {
		case 1:
			return waitErr(200 * time.Millisecond)
		case 2:
			// More postponements than MaxAttempts: never dead.
			return fmt.Errorf("send: %w", waitErr(10*time.Millisecond))
		}
		return nil
	})
	pool := newPool(t, s, h, Config{})
	stop := runPool(pool)
	defer stop()
	eventually(t, "the entry acked", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(at) == 3 && empty(s)
	})
	mu.Lock()
	defer mu.Unlock()
	if d := at[1].Sub(at[0]); d < 200*time.Millisecond {
		t.Errorf("handed out again after %s, want ≥ 200ms", d)
	}
	if dead, _, _ := s.ListDeadLetters(context.Background(), store.Page{}); len(dead) != 0 {
		t.Errorf("postponements dead-lettered the entry: %+v", dead)
	}
}

func TestJitterStaysWithinTwentyPercent(t *testing.T) {
	for range 1000 {
		if j := jitter(time.Second); j < 800*time.Millisecond || j > 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %s", j)
		}
	}
}

// slowAck is a queue whose first Ack, once done, returns only after the
// heartbeat has started three more rounds of extending the other entries
// held (so that a whole round ran while the acked entry was acked but
// the Ack had not returned yet): an Ack whose answer comes back slowly.
type slowAck struct {
	store.Queue
	mu       sync.Mutex
	extended map[store.Receipt]int
	slowed   bool
	timedOut bool
	done     chan struct{} // closed when the first Ack returns
}

func (q *slowAck) Extend(ctx context.Context, r store.Receipt) error {
	q.mu.Lock()
	q.extended[r]++
	q.mu.Unlock()
	return q.Queue.Extend(ctx, r)
}

// othersExtended counts the Extend calls for entries other than r.
func (q *slowAck) othersExtended(r store.Receipt) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for x, c := range q.extended {
		if x != r {
			n += c
		}
	}
	return n
}

func (q *slowAck) Ack(ctx context.Context, r store.Receipt) error {
	err := q.Queue.Ack(ctx, r)
	q.mu.Lock()
	first := !q.slowed
	q.slowed = true
	q.mu.Unlock()
	if first {
		defer close(q.done)
		from, deadline := q.othersExtended(r), time.Now().Add(10*time.Second)
		for q.othersExtended(r) < from+3 {
			if time.Now().After(deadline) {
				q.mu.Lock()
				q.timedOut = true
				q.mu.Unlock()
				return err
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	return err
}

// TestAnAckedEntryIsNotCountedLost: once its handler has returned, an
// entry is not the heartbeat's any more. When it stayed held until its
// Ack returned, a heartbeat round between the store's ack and the
// worker's return tried to extend it, was told it is gone, and counted a
// lost claim that no other worker had taken.
func TestAnAckedEntryIsNotCountedLost(t *testing.T) {
	s := openStore(t, store.QueueOptions{Lease: 300 * time.Millisecond})
	keys := enqueue(t, s, 2)
	q := &slowAck{Queue: s, extended: map[store.Receipt]int{}, done: make(chan struct{})}
	release := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, d store.Delivery) error {
		if d.DedupKey == keys[0] { // held while the other is acked
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	pool := newPool(t, q, h, Config{Count: 2, Batch: 2, Lease: 300 * time.Millisecond, EventTimeout: 10 * time.Second})
	stop := runPool(pool)
	defer stop()
	defer close(release)
	<-q.done
	q.mu.Lock()
	timedOut := q.timedOut
	q.mu.Unlock()
	if timedOut {
		t.Fatal("the held entry was not extended while the other was acked")
	}
	if got := testutil.ToFloat64(pool.metrics.lost); got != 0 {
		t.Errorf("%v claims counted lost, want 0: the acked entry was still extended", got)
	}
}

// TestYieldsToCallbacks: while callbacks arrive, the pool has at most
// YieldCount events in hand; once they stop, every worker works again.
func TestYieldsToCallbacks(t *testing.T) {
	s := openStore(t, store.QueueOptions{Lease: time.Minute})
	var arriving atomic.Bool
	arriving.Store(true)
	var inFlight, most atomic.Int32
	h := HandlerFunc(func(ctx context.Context, d store.Delivery) error {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		if arriving.Load() {
			time.Sleep(10 * time.Millisecond) // long enough for others to start, were they let
			return nil
		}
		// Quiet: every worker takes an event at once.
		for most.Load() < 8 { // 8 were in hand at once
			if ctx.Err() != nil {
				return errors.New("fewer than 8 events in hand with no callback arriving")
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	})
	pool := newPool(t, s, h, Config{Count: 8, Batch: 8, EventTimeout: 5 * time.Second,
		Yield: arriving.Load, YieldCount: 2})
	stop := runPool(pool)
	defer stop()

	enqueue(t, s, 20)
	eventually(t, "the events handled while callbacks arrive", func() bool { return empty(s) })
	if m := most.Load(); m > 2 {
		t.Errorf("%d events in hand at once while callbacks arrived, want at most 2", m)
	}

	arriving.Store(false)
	most.Store(0)
	for i := range 8 { // one for each worker: all in hand at once, or none finishes
		if _, err := s.Enqueue(context.Background(), store.Event{DedupKey: fmt.Sprintf("quiet-%d", i), Kind: "change_contact.create_user",
			Receiver: "/cb", ReceivedAt: time.Unix(1700000000, 0), Payload: []byte("<xml><MsgType><![CDATA[event]]></MsgType></xml>")}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the events handled once callbacks stopped", func() bool { return empty(s) })
	if m := most.Load(); m < 8 {
		t.Errorf("%d events in hand at most with no callback arriving, want all 8 workers", m)
	}
	if got := testutil.ToFloat64(pool.metrics.processed.WithLabelValues("change_contact.create_user", "retry")); got != 0 {
		t.Errorf("%v retries", got)
	}
}
