package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/wecomply/wecomply/store"
)

// Errors RunScheduled returns (wrapped) besides the store's and the job's.
var (
	// ErrLeaseLost: the replica lost the job's lease while running it (it
	// could not renew it in time, or another replica took it after it
	// expired). The run was not recorded here: the replica that took it
	// over records it.
	ErrLeaseLost = errors.New("jobs: lease lost")
	// ErrStillRunning: another replica held the job's lease for longer
	// than a run can take (3 leases and the timeout); this replica gave up
	// waiting.
	ErrStillRunning = errors.New("jobs: still running on another replica")
	// ErrRunFailed: the run is recorded failed (by this replica or
	// another); the run's Error says why.
	ErrRunFailed = errors.New("jobs: run failed")
)

// storeTimeout bounds the store calls made after the job's work, which
// must happen even when the caller's context has ended.
const storeTimeout = 10 * time.Second

// RunScheduled makes the run of job name for the activation at
// scheduledAt (to the minute), once between every replica sharing the
// store, and returns it as recorded. It is what a cron activation does.
//
//   - It takes the job's lease. If it gets it and the run is not yet
//     recorded finished, it starts the run (or takes over one a dead
//     leader left running: Starts goes up), runs the job with a context
//     bounded by Timeout while renewing the lease every Lease/3, records
//     the outcome, and releases the lease. A run already finished, ok or
//     failed, is not made again.
//   - If another replica holds the lease, it waits, looking every Lease/3,
//     until that replica records the run finished (then returns it) or
//     the lease is free again (then goes back to the first step: a
//     leader that died has left the run to it).
//
// A nil error means the run is recorded ok. Otherwise the run (when there
// is one) and an error: ErrRunFailed for a failed run, ErrLeaseLost,
// ErrStillRunning, ctx's error if ctx ended while waiting, or the
// store's. Ending ctx stops a wait, not a job already running. The
// outcome is logged once, here.
func (s *Scheduler) RunScheduled(ctx context.Context, name string, scheduledAt time.Time) (store.JobRun, error) {
	s.mu.Lock()
	j := s.byName[name]
	s.mu.Unlock()
	if j == nil {
		return store.JobRun{}, fmt.Errorf("jobs: run %s: no such job", name)
	}
	scheduledAt = scheduledAt.In(s.cfg.Location).Truncate(time.Minute)
	log := s.log.With("job", name, "scheduled_at", scheduledAt)
	select {
	case j.sem <- struct{}{}:
	case <-ctx.Done():
		return store.JobRun{}, fmt.Errorf("jobs: run %s at %s: %w", name, scheduledAt.Format(time.RFC3339), ctx.Err())
	}
	defer func() { <-j.sem }()

	r := runner{s: s, j: j, at: scheduledAt, log: log, lease: "job:" + name}
	run, logged, err := r.run(ctx)
	if err != nil && !logged {
		switch {
		case ctx.Err() != nil && errors.Is(err, ctx.Err()):
			log.Debug("job: stopped waiting for the run", "err", err)
		case errors.Is(err, ErrRunFailed):
			log.Debug("job: run failed on another replica", "holder", run.Holder, "err", run.Error)
		default:
			log.Error("job: run not made", "err", err)
		}
	}
	return run, err
}

// runner makes one run of one job.
type runner struct {
	s     *Scheduler
	j     *job
	at    time.Time
	log   *slog.Logger
	lease string
}

func (r *runner) errorf(format string, args ...any) error {
	return fmt.Errorf("jobs: run %s at %s: "+format, append([]any{r.j.Name, r.at.Format(time.RFC3339)}, args...)...)
}

// run is RunScheduled's loop: lead if the lease is free, else wait.
// logged reports that lead has logged the outcome already.
func (r *runner) run(ctx context.Context) (_ store.JobRun, logged bool, _ error) {
	cfg := r.s.cfg
	var deadline time.Time // of the wait, on the wall clock as the lease
	var tick *time.Ticker
	for {
		held, err := r.s.st.AcquireLease(ctx, r.lease, cfg.Holder, cfg.Lease)
		if err != nil {
			return store.JobRun{}, false, r.errorf("take the lease: %w", err)
		}
		if held {
			return r.lead(ctx)
		}
		// Another replica holds the lease: it runs this activation (or
		// another one of the job, which ends first).
		run, found, err := r.find(ctx)
		if err != nil {
			return store.JobRun{}, false, err
		}
		if found && run.Outcome != store.RunRunning {
			r.s.noteOK(r.j.Name, run)
			return run, false, r.outcomeErr(run)
		}
		if tick == nil {
			deadline = time.Now().Add(3*cfg.Lease + cfg.Timeout)
			tick = time.NewTicker(r.s.poll())
			defer tick.Stop()
		}
		if time.Now().After(deadline) {
			return run, false, r.errorf("%w: gave up waiting after %v", ErrStillRunning, 3*cfg.Lease+cfg.Timeout)
		}
		select {
		case <-ctx.Done():
			return run, false, r.errorf("waiting for another replica: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// lead makes the run while holding the lease, records it and releases
// the lease. It logs the outcome of a run it makes.
func (r *runner) lead(ctx context.Context) (_ store.JobRun, logged bool, _ error) {
	cfg := r.s.cfg
	// Releasing is always safe: ReleaseLease frees the lease only if this
	// replica still holds it.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		defer cancel()
		if err := r.s.st.ReleaseLease(rctx, r.lease, cfg.Holder); err != nil {
			r.log.Warn("job: release lease; it will expire", "err", err) // harmless
		}
	}()

	run, started, err := r.s.st.StartJobRun(ctx, r.j.Name, r.at, cfg.Holder, cfg.Now())
	if err != nil {
		return store.JobRun{}, false, r.errorf("start: %w", err)
	}
	if !started {
		// A run finished already (ok or failed) is not made again: one
		// run per activation; the next activation tries again.
		r.s.noteOK(r.j.Name, run)
		return run, false, r.outcomeErr(run)
	}
	attrs := []any{"holder", cfg.Holder, "starts", run.Starts}
	if run.Starts > 1 {
		// A leader died (or lost its lease) mid-run: this is the run again.
		r.s.metrics.takeovers.WithLabelValues(r.j.Name).Inc()
		attrs = append(attrs, "takeover", true)
	}

	counts, stack, lost, jerr := r.work(ctx)

	// Record the outcome only while holding the lease: if another replica
	// has taken the run over, the record is theirs.
	if !lost {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
		held, err := r.s.st.AcquireLease(cctx, r.lease, cfg.Holder, cfg.Lease)
		cancel()
		if err != nil || !held {
			lost = true
			if jerr == nil {
				jerr = err
			}
		}
	}
	finished := cfg.Now()
	duration := finished.Sub(run.StartedAt)
	attrs = append(attrs, "duration", duration, "counts", counts)
	if lost {
		r.s.metrics.runs.WithLabelValues(r.j.Name, outcomeLost).Inc()
		err := r.errorf("%w; the replica that takes the run over records it", ErrLeaseLost)
		r.log.Warn("job: lease lost mid-run; the run is not recorded here", append(attrs, "err", err, "job_err", jerr)...)
		return run, true, err
	}
	run.FinishedAt, run.Counts, run.Outcome = finished, counts, store.RunOK
	if jerr != nil {
		run.Outcome, run.Error = store.RunFailed, strings.ToValidUTF8(jerr.Error(), "\uFFFD")
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	ferr := r.s.st.FinishJobRun(fctx, run)
	cancel()
	r.s.metrics.runs.WithLabelValues(r.j.Name, run.Outcome).Inc()
	r.s.metrics.duration.WithLabelValues(r.j.Name).Observe(duration.Seconds())
	switch {
	case ferr != nil:
		// It stays recorded running: once the lease expires, the next
		// replica to look takes it over.
		err := r.errorf("record the outcome (%s): %w", run.Outcome, ferr)
		r.log.Error("job: run not recorded", append(attrs, "err", err, "job_err", jerr)...)
		return run, true, err
	case jerr != nil:
		if stack != "" {
			attrs = append(attrs, "stack", stack)
		}
		r.log.Error("job: run failed", append(attrs, "err", jerr)...)
		return run, true, r.errorf("%w: %w", ErrRunFailed, jerr)
	}
	r.s.noteOK(r.j.Name, run)
	r.log.Info("job: run ok", attrs...)
	return run, true, nil
}

// work runs the job's Func under the lease: with a context bounded by
// Timeout (ctx's end does not cancel it) and the lease renewed every
// Lease/3 meanwhile. lost reports that the lease was lost, which cancels
// the Func's context. A panic in the Func is recovered as an error.
func (r *runner) work(ctx context.Context) (counts map[string]int, stack string, lost bool, err error) {
	cfg := r.s.cfg
	jctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	timeout := r.errorf("ran longer than its timeout of %v: %w", cfg.Timeout, context.DeadlineExceeded)
	jctx, cancelT := context.WithTimeoutCause(jctx, cfg.Timeout, timeout)
	defer cancelT()

	stop := make(chan struct{})
	renewed := make(chan bool, 1) // whether the lease was kept
	go func() { renewed <- r.renew(stop, cancel) }()

	func() {
		defer func() {
			if p := recover(); p != nil {
				buf := make([]byte, 64<<10)
				stack = string(buf[:runtime.Stack(buf, false)])
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		counts, err = r.j.Run(jctx, r.at)
	}()
	close(stop)
	lost = !<-renewed
	if err != nil && jctx.Err() != nil && errors.Is(err, jctx.Err()) {
		// The Func gave up because its context ended: say why.
		if cause := context.Cause(jctx); cause != nil && cause != jctx.Err() {
			err = cause
		}
	}
	return counts, stack, lost, err
}

// renew extends the lease every Lease/3 until stop is closed. A refusal
// (another replica holds it) cancels the job at once; a store error is
// tried again at the next tick while the lease is surely still this
// replica's (less than 2/3 of it has passed since the last renewal), and
// then cancels the job. It reports whether the lease was kept.
func (r *runner) renew(stop <-chan struct{}, cancel context.CancelCauseFunc) bool {
	cfg := r.s.cfg
	every := r.s.poll()
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := time.Now() // the lease was taken (or extended) just before
	for {
		select {
		case <-stop:
			return true
		case <-tick.C:
		}
		ctx, c := context.WithTimeout(context.Background(), every)
		held, err := r.s.st.AcquireLease(ctx, r.lease, cfg.Holder, cfg.Lease)
		c()
		switch {
		case err == nil && held:
			last = time.Now()
			continue
		case err == nil:
			cancel(r.errorf("%w: another replica holds it", ErrLeaseLost))
			return false
		case time.Since(last) >= cfg.Lease*2/3:
			cancel(r.errorf("%w: cannot renew it: %w", ErrLeaseLost, err))
			return false
		}
	}
}

// find returns the recorded run of this activation, if there is one.
func (r *runner) find(ctx context.Context) (store.JobRun, bool, error) {
	run, err := r.s.st.GetJobRun(ctx, r.j.Name, r.at)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.JobRun{}, false, nil
	case err != nil:
		return store.JobRun{}, false, r.errorf("read the run: %w", err)
	}
	return run, true, nil
}

// noteOK notes a run of job name in the metrics if it finished ok: the
// time of job's last success.
func (s *Scheduler) noteOK(name string, run store.JobRun) {
	if run.Outcome == store.RunOK && !run.FinishedAt.IsZero() {
		s.metrics.lastSuccess.WithLabelValues(name).Set(float64(run.FinishedAt.UnixMilli()) / 1e3)
	}
}

// outcomeErr is the error RunScheduled returns for a run found finished.
func (r *runner) outcomeErr(run store.JobRun) error {
	if run.Outcome == store.RunOK {
		return nil
	}
	return r.errorf("%w on %s: %s", ErrRunFailed, run.Holder, run.Error)
}
