package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wecomply/wecomply/internal/testclock"
	"github.com/wecomply/wecomply/store"
)

func TestAddAndJobs(t *testing.T) {
	loc := shanghai(t)
	clk := testclock.Frozen(time.Date(2026, 3, 2, 15, 30, 0, 0, loc))
	var c counter
	r := newReplica(t, openEmbedded(t, nil), "replica-a", []Job{
		{Name: "reminders", Spec: "0 * * * *", Run: c.quick},
		{Name: "digest", Spec: "0 9 * * *", Run: c.quick},
		{Name: "retention", Spec: "", Run: c.quick},
	}, withClock(clk))

	got := r.Jobs()
	want := []Info{
		{Name: "reminders", Spec: "0 * * * *", Next: time.Date(2026, 3, 2, 16, 0, 0, 0, loc)},
		{Name: "digest", Spec: "0 9 * * *", Next: time.Date(2026, 3, 3, 9, 0, 0, 0, loc)},
		{Name: "retention", Off: true},
	}
	if len(got) != len(want) {
		t.Fatalf("Jobs() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Spec != want[i].Spec || got[i].Off != want[i].Off || !got[i].Next.Equal(want[i].Next) {
			t.Errorf("Jobs()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, tt := range []struct {
		name string
		job  Job
	}{
		{"bad spec", Job{Name: "x", Spec: "61 * * * *", Run: c.quick}},
		{"six fields", Job{Name: "x", Spec: "0 0 * * * *", Run: c.quick}},
		{"duplicate name", Job{Name: "digest", Spec: "0 9 * * *", Run: c.quick}},
		{"no name", Job{Spec: "0 9 * * *", Run: c.quick}},
		{"no func", Job{Name: "x", Spec: "0 9 * * *"}},
	} {
		if err := r.Add(tt.job); err == nil {
			t.Errorf("%s: Add succeeded, want an error", tt.name)
		}
	}
	r.Start(context.Background())
	if err := r.Add(Job{Name: "late", Spec: "0 9 * * *", Run: c.quick}); err == nil {
		t.Error("Add after Start succeeded, want an error")
	}
	if _, err := r.RunScheduled(context.Background(), "nope", clk.Now()); err == nil {
		t.Error("RunScheduled of an unknown job succeeded")
	}
}

// TestZeroJobs: a scheduler with nothing to do starts and stops cleanly.
func TestZeroJobs(t *testing.T) {
	r := newReplica(t, openEmbedded(t, nil), "replica-a", nil)
	r.Start(context.Background())
	r.Start(context.Background()) // no-op
	select {
	case <-r.Stop().Done():
	case <-time.After(eventually):
		t.Fatal("Stop not done")
	}
	<-r.Stop().Done() // again
	fresh := newReplica(t, openEmbedded(t, nil), "replica-b", nil)
	<-fresh.Stop().Done() // never started
}

// TestRunScheduledOnceBetweenReplicas: two replicas run one activation
// at the same time; the job runs once, and both return the finished run.
func TestRunScheduledOnceBetweenReplicas(t *testing.T) {
	backends(t, 2, func(t *testing.T, stores []store.Store) {
		at := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai(t))
		var c counter
		release := make(chan struct{})
		slow := func(ctx context.Context, now time.Time) (map[string]int, error) {
			c.starts.Add(1)
			if !now.Equal(at) {
				t.Errorf("the job got now %v, want its activation %v", now, at)
			}
			<-release // both replicas are in RunScheduled now
			c.completions.Add(1)
			return map[string]int{"sent": 1}, nil
		}
		wa, wb := &watched{Store: stores[0]}, &watched{Store: stores[1]}
		a := newReplica(t, wa, "replica-a", []Job{{Name: "reminders", Spec: "0 * * * *", Run: slow}})
		b := newReplica(t, wb, "replica-b", []Job{{Name: "reminders", Spec: "0 * * * *", Run: slow}})

		var wg sync.WaitGroup
		results := make([]store.JobRun, 2)
		errs := make([]error, 2)
		for i, r := range []*replica{a, b} {
			wg.Go(func() {
				results[i], errs[i] = r.RunScheduled(context.Background(), "reminders", at.Add(17*time.Second))
			})
		}
		waitFor(t, "one replica runs the job", func() bool { return c.starts.Load() == 1 })
		// The leader never looks at the run; the other one looks each time
		// it waits: twice, and it has waited rather than run.
		waitFor(t, "the other replica waits", func() bool { return wa.looks.Load()+wb.looks.Load() >= 2 })
		close(release)
		wg.Wait()

		if s, d := c.starts.Load(), c.completions.Load(); s != 1 || d != 1 {
			t.Errorf("the job started %d and completed %d times, want 1 and 1", s, d)
		}
		for i, run := range results {
			if errs[i] != nil || run.Outcome != store.RunOK || !run.ScheduledAt.Equal(at) || run.Starts != 1 {
				t.Errorf("replica %d: RunScheduled = %+v, %v; want the ok run of 15:00", i, run, errs[i])
			}
		}
		if results[0].Holder != results[1].Holder {
			t.Errorf("the replicas returned runs by %s and %s, want one run", results[0].Holder, results[1].Holder)
		}
		if rs := runs(t, stores[0], "reminders"); len(rs) != 1 {
			t.Errorf("%d runs recorded, want 1: %+v", len(rs), rs)
		}
		// Asked again (a late activation), it is not made again.
		if run, err := b.RunScheduled(context.Background(), "reminders", at); err != nil || run.Outcome != store.RunOK || c.starts.Load() != 1 {
			t.Errorf("again: %+v, %v, %d starts", run, err, c.starts.Load())
		}
	})
}

// TestThreeReplicasOnRedis: an hourly job activated at the same minute
// on three replicas sharing one Redis completes once.
func TestThreeReplicasOnRedis(t *testing.T) {
	stores := openRedis(t, 3)
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai(t))
	var c counter
	ws := make([]*watched, len(stores))
	for i, st := range stores {
		ws[i] = &watched{Store: st}
	}
	// The job works until the two replicas that do not run it have found
	// the lease taken and looked at the run (the leader never looks).
	othersWaiting := func() bool {
		n := 0
		for _, w := range ws {
			if w.looks.Load() > 0 {
				n++
			}
		}
		return n == 2
	}
	job := func(ctx context.Context, now time.Time) (map[string]int, error) {
		c.starts.Add(1)
		if !poll(othersWaiting) {
			return nil, errors.New("the other replicas never found the lease taken")
		}
		c.completions.Add(1)
		return map[string]int{"sent": 7}, nil
	}
	var replicas []*replica
	for i, w := range ws {
		replicas = append(replicas, newReplica(t, w, []string{"replica-a", "replica-b", "replica-c"}[i],
			[]Job{{Name: "reminders", Spec: "0 * * * *", Run: job}}))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, r := range replicas {
		wg.Go(func() {
			<-start
			if run, err := r.RunScheduled(context.Background(), "reminders", at); err != nil || run.Outcome != store.RunOK {
				t.Errorf("%s: %+v, %v", r.cfg.Holder, run, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if s, d := c.starts.Load(), c.completions.Load(); s != 1 || d != 1 {
		t.Errorf("the job started %d and completed %d times, want 1 and 1", s, d)
	}
	rs := runs(t, stores[2], "reminders")
	if len(rs) != 1 || rs[0].Outcome != store.RunOK || rs[0].Starts != 1 || rs[0].Counts["sent"] != 7 {
		t.Errorf("runs %+v, want one ok run", rs)
	}
	var ran float64
	for _, r := range replicas {
		ran += testutil.ToFloat64(r.metrics.runs.WithLabelValues("reminders", store.RunOK))
		if v := testutil.ToFloat64(r.metrics.lastSuccess.WithLabelValues("reminders")); v == 0 {
			t.Errorf("%s: last success not set", r.cfg.Holder)
		}
	}
	if ran != 1 {
		t.Errorf("wecomply_job_runs_total{outcome=ok} summed over the replicas = %v, want 1", ran)
	}
}

// TestTakeover: the leader dies mid-run (cut off from the store: it can
// no longer renew, record or release); once its lease expires another
// replica takes the run over and finishes it.
func TestTakeover(t *testing.T) {
	backends(t, 2, func(t *testing.T, stores []store.Store) {
		at := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai(t))
		var c counter
		started := make(chan struct{})
		var aStopped sync.WaitGroup
		aStopped.Add(1)
		blocking := func(ctx context.Context, _ time.Time) (map[string]int, error) {
			defer aStopped.Done()
			c.starts.Add(1)
			close(started)
			<-ctx.Done() // works until it is stopped
			return nil, ctx.Err()
		}
		wa := &watched{Store: stores[0]}
		pa := &partitioned{Store: wa}
		a := newReplica(t, pa, "replica-a", []Job{{Name: "reminders", Spec: "0 * * * *", Run: blocking}})
		b := newReplica(t, stores[1], "replica-b", []Job{{Name: "reminders", Spec: "0 * * * *", Run: c.quick}})

		aDone := make(chan error, 1)
		go func() {
			_, err := a.RunScheduled(context.Background(), "reminders", at)
			aDone <- err
		}()
		<-started
		// A has taken its lease and renewed it once; then it "dies".
		waitFor(t, "A renews its lease", func() bool { return wa.leases.Load() >= 2 })
		pa.cut.Store(true)

		run, err := b.RunScheduled(context.Background(), "reminders", at)
		if err != nil || run.Outcome != store.RunOK || run.Holder != "replica-b" || run.Starts != 2 {
			t.Fatalf("B: RunScheduled = %+v, %v; want the run taken over (Starts 2) and ok", run, err)
		}
		if s, d := c.starts.Load(), c.completions.Load(); s != 2 || d != 1 {
			t.Errorf("the job started %d and completed %d times, want 2 starts and 1 completion", s, d)
		}
		if v := testutil.ToFloat64(b.metrics.takeovers.WithLabelValues("reminders")); v != 1 {
			t.Errorf("B's takeovers = %v, want 1", v)
		}

		// A, cut off, stopped its job when it could not renew the lease,
		// and recorded nothing.
		aStopped.Wait()
		select {
		case err := <-aDone:
			if !errors.Is(err, ErrLeaseLost) {
				t.Errorf("A: RunScheduled err = %v, want ErrLeaseLost", err)
			}
		case <-time.After(eventually):
			t.Fatal("A's RunScheduled did not return")
		}
		rs := runs(t, stores[1], "reminders")
		if len(rs) != 1 || rs[0].Outcome != store.RunOK || rs[0].Holder != "replica-b" || rs[0].Starts != 2 {
			t.Errorf("runs %+v, want the one ok run by B", rs)
		}
		if v := testutil.ToFloat64(a.metrics.runs.WithLabelValues("reminders", outcomeLost)); v != 1 {
			t.Errorf("A's lost runs = %v, want 1", v)
		}
	})
}

// TestLeaseLostIsNotRecorded: a leader whose lease another replica took
// (it expired: here the store's clock jumps) stops its job at the next
// renewal and leaves the record to the new holder.
func TestLeaseLostIsNotRecorded(t *testing.T) {
	loc := shanghai(t)
	storeClock := testclock.Frozen(time.Date(2026, 3, 2, 15, 0, 5, 0, loc))
	st := openEmbedded(t, storeClock.Now)
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, loc)
	started := make(chan struct{})
	var cause error
	job := func(ctx context.Context, _ time.Time) (map[string]int, error) {
		close(started)
		<-ctx.Done()
		cause = context.Cause(ctx)
		return map[string]int{"sent": 1}, nil // claims success: must not be recorded anyway
	}
	a := newReplica(t, st, "replica-a", []Job{{Name: "reminders", Spec: "0 * * * *", Run: job}}, withClock(storeClock))
	done := make(chan error, 1)
	go func() {
		_, err := a.RunScheduled(context.Background(), "reminders", at)
		done <- err
	}()
	<-started
	storeClock.Advance(time.Hour) // A's lease has expired…
	if ok, err := st.AcquireLease(context.Background(), "job:reminders", "replica-b", time.Hour); err != nil || !ok {
		t.Fatalf("another replica could not take the expired lease: %v %v", ok, err)
	}
	select { // …and A learns it at its next renewal
	case err := <-done:
		if !errors.Is(err, ErrLeaseLost) {
			t.Errorf("RunScheduled err = %v, want ErrLeaseLost", err)
		}
	case <-time.After(eventually):
		t.Fatal("A kept running without its lease")
	}
	if !errors.Is(cause, ErrLeaseLost) {
		t.Errorf("the job's context ended with %v, want ErrLeaseLost", cause)
	}
	rs := runs(t, st, "reminders")
	if len(rs) != 1 || rs[0].Outcome != store.RunRunning || rs[0].Holder != "replica-a" {
		t.Errorf("runs %+v, want the run still recorded running (the new holder records it)", rs)
	}
	if ok, _ := st.AcquireLease(context.Background(), "job:reminders", "replica-c", time.Minute); ok {
		t.Error("A released B's lease")
	}
}

// TestTimeout: a job that outlives Timeout is stopped and recorded failed
// with the context's error, logged once.
func TestTimeout(t *testing.T) {
	st := openEmbedded(t, nil)
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai(t))
	job := func(ctx context.Context, _ time.Time) (map[string]int, error) {
		select {
		case <-ctx.Done():
			return map[string]int{"sent": 2}, ctx.Err() // partial work, then gives up
		case <-time.After(eventually):
			return nil, nil
		}
	}
	r := newReplica(t, st, "replica-a", []Job{{Name: "digest", Spec: "0 9 * * *", Run: job}}, withLease(300*time.Millisecond, 100*time.Millisecond))
	run, err := r.RunScheduled(context.Background(), "digest", at)
	if !errors.Is(err, ErrRunFailed) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrRunFailed and context.DeadlineExceeded", err)
	}
	if run.Outcome != store.RunFailed || !strings.Contains(run.Error, "deadline exceeded") || !strings.Contains(run.Error, "timeout of 100ms") || run.Counts["sent"] != 2 {
		t.Errorf("run %+v, want failed with the context error and its counts", run)
	}
	if rs := runs(t, st, "digest"); len(rs) != 1 || rs[0].Outcome != store.RunFailed || rs[0].Error != run.Error {
		t.Errorf("recorded %+v", rs)
	}
	recs := r.logs.records(t, "job:")
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["job"] != "digest" || recs[0]["scheduled_at"] == nil ||
		recs[0]["duration"] == nil || !strings.Contains(recs[0]["err"].(string), "deadline exceeded") {
		t.Errorf("log records %v, want one error record with job, scheduled_at, duration and err", recs)
	}
	if v := testutil.ToFloat64(r.metrics.runs.WithLabelValues("digest", store.RunFailed)); v != 1 {
		t.Errorf("failed runs = %v", v)
	}
	// A failed run is not made again for the same activation.
	if again, err := r.RunScheduled(context.Background(), "digest", at); !errors.Is(err, ErrRunFailed) || again.Starts != 1 {
		t.Errorf("again: %+v, %v; want the failed run unchanged", again, err)
	}
}

// TestPanic: a job that panics is recovered and recorded failed, both
// when RunScheduled is called and when the cron activates it.
func TestPanic(t *testing.T) {
	st := openEmbedded(t, nil)
	boom := func(context.Context, time.Time) (map[string]int, error) { panic("boom") }
	r := newReplica(t, st, "replica-a", []Job{
		{Name: "direct", Spec: "", Run: boom},
		{Name: "cron", Spec: "@every 1s", Run: boom},
	})
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, shanghai(t))
	run, err := r.RunScheduled(context.Background(), "direct", at)
	if !errors.Is(err, ErrRunFailed) || run.Outcome != store.RunFailed || run.Error != "panic: boom" {
		t.Errorf("RunScheduled = %+v, %v; want failed with the panic", run, err)
	}
	recs := r.logs.records(t, "job: run failed")
	if len(recs) != 1 || !strings.Contains(recs[0]["stack"].(string), "TestPanic") {
		t.Errorf("log %v, want one record with the stack", recs)
	}

	r.Start(context.Background())
	waitFor(t, "the cron's panicking activation is recorded failed", func() bool {
		rs := runs(t, st, "cron")
		return len(rs) > 0 && rs[0].Outcome == store.RunFailed && rs[0].Error == "panic: boom"
	})
	<-r.Stop().Done()
	if ok, err := st.AcquireLease(context.Background(), "job:cron", "replica-b", time.Minute); err != nil || !ok {
		t.Errorf("the panicking job's lease was not released: %v %v", ok, err)
	}
}

// TestStopWaitsForRunningJob: Stop's context is done only once the job
// the cron started has finished, been recorded and released its lease.
func TestStopWaitsForRunningJob(t *testing.T) {
	st := &watched{Store: openEmbedded(t, nil)}
	var once sync.Once
	started, release := make(chan struct{}), make(chan struct{})
	var ctxErr error
	job := func(ctx context.Context, _ time.Time) (map[string]int, error) {
		once.Do(func() { close(started) })
		<-release
		ctxErr = ctx.Err()
		return map[string]int{"done": 1}, nil
	}
	r := newReplica(t, st, "replica-a", []Job{{Name: "reconcile", Spec: "@every 1s", Run: job}})
	r.Start(context.Background())
	<-started
	renewed := st.leases.Load()
	stopped := r.Stop()
	// Stop has returned; the job runs on: once its lease has been renewed
	// twice since, Stop's context had every chance to end.
	waitFor(t, "the running job's lease renewed", func() bool { return st.leases.Load() >= renewed+2 })
	select {
	case <-stopped.Done():
		t.Fatal("Stop is done while the job still runs")
	default:
	}
	if ok, _ := st.AcquireLease(context.Background(), "job:reconcile", "replica-b", time.Minute); ok {
		t.Fatal("the running job's lease is free (not renewed?)")
	}
	close(release)
	select {
	case <-stopped.Done():
	case <-time.After(eventually):
		t.Fatal("Stop not done after the job finished")
	}
	if ctxErr != nil {
		t.Errorf("Stop cancelled the running job: %v", ctxErr)
	}
	rs := runs(t, st, "reconcile")
	if len(rs) != 1 || rs[0].Outcome != store.RunOK {
		t.Errorf("runs %+v, want the one run recorded ok", rs)
	}
	if ok, err := st.AcquireLease(context.Background(), "job:reconcile", "replica-b", time.Minute); err != nil || !ok {
		t.Errorf("after Stop the lease is still held: %v %v", ok, err)
	}
}

// TestWaiterStopsAtStop: a replica waiting for another's run stops
// waiting when its context ends.
func TestWaiterStopsAtStop(t *testing.T) {
	st := &watched{Store: openEmbedded(t, nil)}
	if ok, err := st.AcquireLease(context.Background(), "job:digest", "replica-x", time.Hour); err != nil || !ok {
		t.Fatal("take the lease", ok, err)
	}
	var c counter
	r := newReplica(t, st, "replica-a", []Job{{Name: "digest", Spec: "0 9 * * *", Run: c.quick}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := r.RunScheduled(ctx, "digest", time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai(t)))
		done <- err
	}()
	waitFor(t, "the replica waits for the run", func() bool { return st.looks.Load() >= 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	case <-time.After(eventually):
		t.Fatal("still waiting")
	}
	if c.starts.Load() != 0 {
		t.Error("the job ran without the lease")
	}
}

func TestCronLogger(t *testing.T) {
	r := newReplica(t, openEmbedded(t, nil), "replica-a", nil)
	cl := cronLogger{log: r.log}
	cl.Info("wake", "now", time.Now())
	cl.Info("skip")
	cl.Error(errors.New("boom"), "panic", "stack", "...")
	if recs := r.logs.records(t, "cron: "); len(recs) != 3 || recs[0]["level"] != "DEBUG" || recs[1]["level"] != "INFO" ||
		recs[2]["level"] != "ERROR" || recs[2]["err"] != "boom" {
		t.Errorf("records %v", recs)
	}
}
