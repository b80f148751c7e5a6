package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wecomply/wecomply/store"
)

// runTime is a scheduled time with nanoseconds, in Beijing time: runs
// keep it in UTC, to the microsecond.
var runTime = time.Date(2026, 3, 4, 9, 0, 0, 123456789, time.FixedZone("CST", 8*3600))

func startRun(t *testing.T, s store.Store, job string, at time.Time, holder string, now time.Time) (store.JobRun, bool) {
	t.Helper()
	run, started, err := s.StartJobRun(t.Context(), job, at, holder, now)
	if err != nil {
		t.Fatalf("StartJobRun(%s, %v, %s): %v", job, at, holder, err)
	}
	return run, started
}

func finishRun(t *testing.T, s store.Store, run store.JobRun) {
	t.Helper()
	if err := s.FinishJobRun(t.Context(), run); err != nil {
		t.Fatalf("FinishJobRun(%s, %v): %v", run.Job, run.ScheduledAt, err)
	}
}

// lastRun returns job's run with the latest ScheduledAt.
func lastRun(t *testing.T, s store.Store, job string) store.JobRun {
	t.Helper()
	runs := listRuns(t, s, job, 1)
	if len(runs) == 0 {
		t.Fatalf("ListJobRuns(%s, 1): no run", job)
	}
	return runs[0]
}

// getRun returns the run (job, at).
func getRun(t *testing.T, s store.Store, job string, at time.Time) store.JobRun {
	t.Helper()
	run, err := s.GetJobRun(t.Context(), job, at)
	if err != nil {
		t.Fatalf("GetJobRun(%s, %v): %v", job, at, err)
	}
	return run
}

func listRuns(t *testing.T, s store.Store, job string, limit int) []store.JobRun {
	t.Helper()
	runs, err := s.ListJobRuns(t.Context(), job, limit)
	if err != nil {
		t.Fatalf("ListJobRuns(%q, %d): %v", job, limit, err)
	}
	if runs == nil {
		t.Fatalf("ListJobRuns(%q, %d): nil slice, want an empty one", job, limit)
	}
	return runs
}

// runIDs names runs by job and scheduled time.
func runIDs(runs []store.JobRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = fmt.Sprintf("%q@%s", r.Job, r.ScheduledAt.Format(time.RFC3339Nano))
	}
	return out
}

// wantUTCMicros fails unless tm is in UTC and is want to the microsecond.
func wantUTCMicros(t *testing.T, what string, tm, want time.Time) {
	t.Helper()
	want = want.Truncate(time.Microsecond)
	if tm.Location() != time.UTC || !tm.Equal(want) {
		t.Errorf("%s = %v (%v), want %v in UTC", what, tm, tm.Location(), want.UTC())
	}
}

// testJobRuns walks a run through its states: started, taken over,
// finished ok (then never started again, nor unmade by a late finish),
// and finished failed (never started again either).
func testJobRuns(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	if runs := listRuns(t, s, "reminders", 10); len(runs) != 0 {
		t.Fatalf("ListJobRuns of a job never run: %q", runIDs(runs))
	}
	_, err := s.GetJobRun(ctx, "reminders", runTime)
	wantNotFound(t, "GetJobRun of a job never run", err)

	now := runTime.Add(1500 * time.Nanosecond)
	run, started := startRun(t, s, "reminders", runTime, "replica-a", now)
	if !started {
		t.Fatal("StartJobRun of a new run: started false")
	}
	want := store.JobRun{Job: "reminders", ScheduledAt: runTime.UTC().Truncate(time.Microsecond), Holder: "replica-a",
		StartedAt: now.UTC().Truncate(time.Microsecond), Outcome: store.RunRunning, Starts: 1}
	sameJSON(t, "a new run", run, want)
	got := lastRun(t, s, "reminders")
	sameJSON(t, "the last run, a new one", got, want)
	wantUTCMicros(t, "ScheduledAt", got.ScheduledAt, runTime)
	wantUTCMicros(t, "StartedAt", got.StartedAt, now)
	// Got by its scheduled time, in any zone, with nanoseconds or not.
	sameJSON(t, "GetJobRun of a new run", getRun(t, s, "reminders", runTime), want)
	sameJSON(t, "GetJobRun by the time in UTC, to the µs", getRun(t, s, "reminders", runTime.UTC().Truncate(time.Microsecond)), want)
	for name, at := range map[string]time.Time{"a µs later": runTime.Add(time.Microsecond), "a µs earlier": runTime.Add(-time.Microsecond)} {
		_, err := s.GetJobRun(ctx, "reminders", at)
		wantNotFound(t, "GetJobRun "+name, err)
	}
	for _, job := range []string{"remind", "reminders2", ""} {
		_, err := s.GetJobRun(ctx, job, runTime)
		wantNotFound(t, fmt.Sprintf("GetJobRun of job %q", job), err)
	}

	// The leader died: another replica takes the run over.
	takeover := now.Add(time.Minute)
	run, started = startRun(t, s, "reminders", runTime, "replica-b", takeover)
	if !started || run.Starts != 2 || run.Holder != "replica-b" || run.Outcome != store.RunRunning || !run.StartedAt.Equal(takeover.Truncate(time.Microsecond)) {
		t.Errorf("takeover: %+v, started %v; want running by replica-b from %v, Starts 2, started", run, started, takeover)
	}

	done := run
	done.Outcome, done.FinishedAt, done.Counts = store.RunOK, takeover.Add(time.Minute), map[string]int{"reminded": 12, "failed": 0}
	done.ScheduledAt = runTime // as the job had it: the store finds the run
	finishRun(t, s, done)
	want = store.JobRun{Job: "reminders", ScheduledAt: runTime.UTC().Truncate(time.Microsecond), Holder: "replica-b",
		StartedAt: takeover.UTC().Truncate(time.Microsecond), FinishedAt: done.FinishedAt.UTC().Truncate(time.Microsecond),
		Outcome: store.RunOK, Counts: map[string]int{"reminded": 12, "failed": 0}, Starts: 2}
	got = lastRun(t, s, "reminders")
	sameJSON(t, "a finished run", got, want)
	sameJSON(t, "GetJobRun of a finished run", getRun(t, s, "reminders", runTime), want)
	wantUTCMicros(t, "FinishedAt", got.FinishedAt, done.FinishedAt)

	// Made once: starting it again returns it unchanged, not started; the
	// finish of the replica that was taken over changes nothing.
	run, started = startRun(t, s, "reminders", runTime, "replica-c", takeover.Add(time.Hour))
	if started {
		t.Error("StartJobRun of a run finished ok: started true")
	}
	sameJSON(t, "StartJobRun of a run finished ok", run, want)
	late := store.JobRun{Job: "reminders", ScheduledAt: runTime, Holder: "replica-a", Outcome: store.RunFailed,
		Error: "lease lost", FinishedAt: takeover.Add(2 * time.Hour)}
	finishRun(t, s, late)
	sameJSON(t, "a run finished ok, after a late failed finish", lastRun(t, s, "reminders"), want)

	// A failed run is not started again either: it is returned as it is.
	next := runTime.Add(time.Hour)
	run, _ = startRun(t, s, "reminders", next, "replica-a", next)
	run.Outcome, run.Error, run.FinishedAt, run.Counts = store.RunFailed, "wecom: errcode 45009", next.Add(time.Second), map[string]int{"reminded": 3}
	finishRun(t, s, run)
	failed := lastRun(t, s, "reminders")
	if failed.Outcome != store.RunFailed || failed.Error != run.Error || failed.Starts != 1 {
		t.Errorf("a failed run: %+v", failed)
	}
	run, started = startRun(t, s, "reminders", next, "replica-b", next.Add(time.Minute))
	if started {
		t.Error("StartJobRun of a failed run: started true")
	}
	sameJSON(t, "StartJobRun of a failed run", run, failed)
	sameJSON(t, "GetJobRun after starting a failed run", getRun(t, s, "reminders", next), failed)
	sameJSON(t, "GetJobRun of the earlier run", getRun(t, s, "reminders", runTime), want)

	wantNotFound(t, "FinishJobRun of a run never started", s.FinishJobRun(ctx,
		store.JobRun{Job: "reminders", ScheduledAt: next.Add(time.Hour), Outcome: store.RunOK}))
	for name, bad := range map[string]func() error{
		"no job": func() error { _, _, err := s.StartJobRun(ctx, "", runTime, "a", now); return err },
		"no holder": func() error {
			_, _, err := s.StartJobRun(ctx, "reminders", runTime, "", now)
			return err
		},
		"no scheduled time": func() error {
			_, _, err := s.StartJobRun(ctx, "reminders", time.Time{}, "a", now)
			return err
		},
		"finish as running": func() error {
			return s.FinishJobRun(ctx, store.JobRun{Job: "reminders", ScheduledAt: next, Outcome: store.RunRunning})
		},
		"finish without an outcome": func() error {
			return s.FinishJobRun(ctx, store.JobRun{Job: "reminders", ScheduledAt: next})
		},
	} {
		if err := bad(); err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
	sameJSON(t, "after refused calls", lastRun(t, s, "reminders"), failed)
}

// testJobRunsConcurrent: replicas start the same run at once. A run
// finished ok is started by none; a new run is started by each (the
// lease decides who runs, not this record), and Starts counts them.
func testJobRunsConcurrent(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const replicas = 2
	for trial := range 5 {
		at := runTime.Add(time.Duration(trial) * time.Hour)
		run, _ := startRun(t, s, "digest", at, "replica-0", at)
		run.Outcome, run.FinishedAt = store.RunOK, at.Add(time.Second)
		finishRun(t, s, run)

		fresh := at.Add(time.Minute)
		var startedOK, startedNew atomic.Int32
		var wg sync.WaitGroup
		for r := range replicas {
			holder := fmt.Sprint("replica-", r)
			wg.Go(func() {
				_, started, err := s.StartJobRun(ctx, "digest", at, holder, at.Add(time.Hour))
				if err != nil {
					t.Errorf("StartJobRun of a finished run: %v", err)
				}
				if started {
					startedOK.Add(1)
				}
			})
			wg.Go(func() {
				_, started, err := s.StartJobRun(ctx, "digest", fresh, holder, fresh)
				if err != nil {
					t.Errorf("StartJobRun of a new run: %v", err)
				}
				if started {
					startedNew.Add(1)
				}
			})
		}
		wg.Wait()
		if n := startedOK.Load(); n != 0 {
			t.Errorf("trial %d: %d replicas started a run finished ok, want none", trial, n)
		}
		if n := startedNew.Load(); n != replicas {
			t.Errorf("trial %d: %d replicas told they started a new run, want %d", trial, n, replicas)
		}
		if got := lastRun(t, s, "digest"); got.Starts != replicas || got.Outcome != store.RunRunning || !got.ScheduledAt.Equal(fresh.Truncate(time.Microsecond)) {
			t.Errorf("trial %d: the new run after %d concurrent starts: %+v; want running with Starts %d", trial, replicas, got, replicas)
		}
	}
}

// testJobRunsList lists runs of a job, latest first, with job names that
// prefix each other.
func testJobRunsList(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	// h(-500_000) is in 1969: times before the Unix epoch sort too.
	h := func(n int) time.Time { return runTime.Add(time.Duration(n) * time.Hour).Truncate(time.Microsecond) }
	type sched struct {
		job string
		at  time.Time
	}
	all := []sched{
		{"a", h(3)}, {"a", h(1)}, {"a\x00", h(2)}, {"ab", h(1)}, {"b", h(5)}, {"a", h(-500_000)}, {"b", h(4)}, {"归档", h(1)},
	}
	for _, r := range all {
		startRun(t, s, r.job, r.at, "replica", r.at)
	}
	want := func(job string, limit int, scheds ...sched) {
		t.Helper()
		var w []string
		for _, r := range scheds {
			w = append(w, fmt.Sprintf("%q@%s", r.job, r.at.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
		}
		if got := runIDs(listRuns(t, s, job, limit)); !slices.Equal(got, w) {
			t.Errorf("ListJobRuns(%q, %d):\n got %q\nwant %q", job, limit, got, w)
		}
	}
	want("a", 10, sched{"a", h(3)}, sched{"a", h(1)}, sched{"a", h(-500_000)})
	want("a", 2, sched{"a", h(3)}, sched{"a", h(1)})
	want("a\x00", 10, sched{"a\x00", h(2)})
	want("ab", 10, sched{"ab", h(1)})
	want("none", 10)
	want("a", 0)
	want("a", -1)
	want("b", 10, sched{"b", h(5)}, sched{"b", h(4)})
	want("归档", 10, sched{"归档", h(1)})
	// Runs are listed one job at a time: no job is an error.
	if runs, err := s.ListJobRuns(t.Context(), "", 10); err == nil {
		t.Errorf("ListJobRuns(\"\", 10) = %v, want an error", runIDs(runs))
	}
	if got := lastRun(t, s, "a"); !got.ScheduledAt.Equal(h(3)) {
		t.Errorf("last run of a scheduled at %v, want %v", got.ScheduledAt, h(3))
	}
	if got := lastRun(t, s, "ab"); !got.ScheduledAt.Equal(h(1)) {
		t.Errorf("last run of ab scheduled at %v, want %v", got.ScheduledAt, h(1))
	}
}

// testJobRunsKeepTheLast1000: finishing a run deletes its job's runs
// beyond the last 1,000, and only its job's.
func testJobRunsKeepTheLast1000(t *testing.T, open OpenFunc, _ Options) {
	s := open(t, opts(longLease, 5))
	ctx := t.Context()
	const n = 1005
	at := func(i int) time.Time { return runTime.Add(time.Duration(i) * time.Minute).Truncate(time.Microsecond) }
	parallel(t, n, func(i int) error {
		_, _, err := s.StartJobRun(ctx, "tick", at(i), "replica", at(i))
		return err
	})
	for i := range 3 {
		startRun(t, s, "tickle", at(i), "replica", at(i))
		startRun(t, s, "tic", at(i), "replica", at(i))
	}
	if got := len(listRuns(t, s, "tick", 2000)); got != n {
		t.Fatalf("%d runs of tick before a finish, want %d (starts prune nothing)", got, n)
	}
	last := lastRun(t, s, "tick")
	last.Outcome, last.FinishedAt = store.RunOK, at(n)
	finishRun(t, s, last)
	runs := listRuns(t, s, "tick", 2000)
	if len(runs) != 1000 || !runs[0].ScheduledAt.Equal(at(n-1)) || !runs[999].ScheduledAt.Equal(at(n-1000)) {
		t.Fatalf("after a finish: %d runs of tick, from %v to %v; want 1000 from %v to %v",
			len(runs), runs[0].ScheduledAt, runs[len(runs)-1].ScheduledAt, at(n-1), at(n-1000))
	}
	for _, job := range []string{"tickle", "tic"} {
		if got := len(listRuns(t, s, job, 10)); got != 3 {
			t.Errorf("%d runs of %s, want 3: another job's finish pruned them", got, job)
		}
	}
	_, err := s.GetJobRun(ctx, "tick", at(0))
	wantNotFound(t, "GetJobRun of a pruned run", err)
	sameJSON(t, "GetJobRun of the oldest run kept", getRun(t, s, "tick", at(n-1000)), runs[999])
	pruned := store.JobRun{Job: "tick", ScheduledAt: at(0), Outcome: store.RunOK}
	wantNotFound(t, "FinishJobRun of a pruned run", s.FinishJobRun(ctx, pruned))
}
