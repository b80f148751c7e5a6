package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Shanghai wherever the tests run

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/embedded"
	redisstore "github.com/wecomply/wecomply/store/redis"
	"github.com/wecomply/wecomply/store/redis/redistest"
)

// eventually bounds every wait on the wall clock (leases, tickers).
const eventually = 10 * time.Second

func shanghai(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// openEmbedded opens a real embedded store; now is its clock (nil: the
// wall clock), which is also the clock its leases expire on.
func openEmbedded(t testing.TB, now func() time.Time) store.Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "wecomply.db"), embedded.Options{Now: now, BatchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// openRedis opens n clients (one per replica) on one real redis-server.
func openRedis(t testing.TB, n int) []store.Store {
	t.Helper()
	url := redistest.Start(t)
	out := make([]store.Store, n)
	for i := range out {
		st, err := redisstore.Open(context.Background(), redisstore.Options{URL: url, Namespace: "wwjobs", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out[i] = st
	}
	return out
}

// backends runs f on each backend with replicas stores sharing one
// server (the embedded store: one store shared by the replicas, as
// processes cannot share its file).
func backends(t *testing.T, replicas int, f func(t *testing.T, stores []store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		t.Parallel()
		st := openEmbedded(t, nil)
		stores := make([]store.Store, replicas)
		for i := range stores {
			stores[i] = st
		}
		f(t, stores)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		f(t, openRedis(t, replicas))
	})
}

// syncBuffer collects a scheduler's JSON log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the log records with their message starting prefix.
func (s *syncBuffer) records(t testing.TB, prefix string) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// replica is one Scheduler as a replica runs it.
type replica struct {
	*Scheduler
	logs *syncBuffer
	reg  *prometheus.Registry
}

type replicaOption func(*Config)

func withClock(c *testclock.Clock) replicaOption { return func(cfg *Config) { cfg.Now = c.Now } }

func withLease(lease, timeout time.Duration) replicaOption {
	return func(cfg *Config) { cfg.Lease, cfg.Timeout = lease, timeout }
}

// newReplica builds a scheduler named holder on st with jobs added. By
// default: Asia/Shanghai, a 300ms lease, a 5s timeout, the wall clock.
func newReplica(t testing.TB, st Store, holder string, jobs []Job, opts ...replicaOption) *replica {
	t.Helper()
	logs := &syncBuffer{}
	cfg := Config{
		Location: shanghai(t),
		Lease:    300 * time.Millisecond,
		Timeout:  5 * time.Second,
		Holder:   holder,
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	reg := prometheus.NewRegistry()
	s, err := New(st, cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if err := s.Add(j); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := s.Stop()
		select {
		case <-ctx.Done():
		case <-time.After(eventually):
			t.Errorf("%s: Stop not done after %v", holder, eventually)
		}
	})
	return &replica{Scheduler: s, logs: logs, reg: reg}
}

// counter counts a job's invocations and completions.
type counter struct{ starts, completions atomic.Int32 }

// quick is a job that completes at once.
func (c *counter) quick(context.Context, time.Time) (map[string]int, error) {
	c.starts.Add(1)
	c.completions.Add(1)
	return map[string]int{"sent": 3}, nil
}

// runs lists job's recorded runs.
func runs(t testing.TB, st store.JobRuns, job string) []store.JobRun {
	t.Helper()
	rs, err := st.ListJobRuns(context.Background(), job, 100)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// seedRun records a past run of job at at, by another replica: started
// and, unless outcome is store.RunRunning (a leader that died), finished
// with outcome a minute later.
func seedRun(t testing.TB, st store.JobRuns, job string, at time.Time, outcome string) {
	t.Helper()
	ctx := context.Background()
	run, _, err := st.StartJobRun(ctx, job, at, "old-replica", at)
	if err != nil {
		t.Fatal(err)
	}
	if outcome == store.RunRunning {
		return
	}
	run.Outcome, run.FinishedAt = outcome, at.Add(time.Minute)
	if err := st.FinishJobRun(ctx, run); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test if it does not
// within eventually.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if !poll(cond) {
		t.Fatalf("%s: not after %v", what, eventually)
	}
}

// watched is a real store that counts what one replica does with it:
// the leases it got (taken or renewed) and its looks at a run (a replica
// that finds the lease taken looks each time it waits). Tests wait for
// these instead of sleeping.
type watched struct {
	store.Store
	leases, looks atomic.Int32
}

func (w *watched) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ok, err := w.Store.AcquireLease(ctx, name, holder, ttl)
	if ok && err == nil {
		w.leases.Add(1)
	}
	return ok, err
}

func (w *watched) GetJobRun(ctx context.Context, job string, at time.Time) (store.JobRun, error) {
	w.looks.Add(1)
	return w.Store.GetJobRun(ctx, job, at)
}

// poll reports whether cond holds within eventually, for goroutines that
// may not fail the test themselves (a job's Func).
func poll(cond func() bool) bool {
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// partitioned is a real store that a test can cut this replica off
// from, as if the replica had died or lost the network: from then on
// every call fails and nothing it does reaches the store.
type partitioned struct {
	store.Store
	cut atomic.Bool
}

var errPartitioned = errors.New("test: replica cut off from the store")

func (p *partitioned) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if p.cut.Load() {
		return false, errPartitioned
	}
	return p.Store.AcquireLease(ctx, name, holder, ttl)
}

func (p *partitioned) ReleaseLease(ctx context.Context, name, holder string) error {
	if p.cut.Load() {
		return errPartitioned
	}
	return p.Store.ReleaseLease(ctx, name, holder)
}

func (p *partitioned) StartJobRun(ctx context.Context, job string, at time.Time, holder string, now time.Time) (store.JobRun, bool, error) {
	if p.cut.Load() {
		return store.JobRun{}, false, errPartitioned
	}
	return p.Store.StartJobRun(ctx, job, at, holder, now)
}

func (p *partitioned) FinishJobRun(ctx context.Context, run store.JobRun) error {
	if p.cut.Load() {
		return errPartitioned
	}
	return p.Store.FinishJobRun(ctx, run)
}

func (p *partitioned) GetJobRun(ctx context.Context, job string, at time.Time) (store.JobRun, error) {
	if p.cut.Load() {
		return store.JobRun{}, errPartitioned
	}
	return p.Store.GetJobRun(ctx, job, at)
}

func (p *partitioned) ListJobRuns(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	if p.cut.Load() {
		return nil, errPartitioned
	}
	return p.Store.ListJobRuns(ctx, job, limit)
}
