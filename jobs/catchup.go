package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/wecomply/wecomply/store"
)

// catchUp makes, for each scheduled job, the run missed while no replica
// ran, and returns when they are done (Start calls it in the
// background). A job is due when its latest activation at or before now
// is later than its last recorded run, or has no recorded run, or is its
// last recorded run left running by a replica that died (then it is taken
// over). Only the latest activation runs: a server down for three days
// makes one run of an hourly job, not 72; the job, being resumable, does
// the missed work in it.
//
// Schedules with no fixed activations (@every) are not caught up.
func (s *Scheduler) catchUp(ctx context.Context) {
	s.mu.Lock()
	jobs := s.jobs
	s.mu.Unlock()
	now := s.cfg.Now().In(s.cfg.Location)
	var wg sync.WaitGroup
	for _, j := range jobs {
		if j.sched == nil {
			continue
		}
		wg.Go(func() {
			at, due := s.due(ctx, j, now)
			if due {
				s.log.Info("job: catching up a missed run", "job", j.Name, "scheduled_at", at)
				_, _ = s.RunScheduled(ctx, j.Name, at) // logs its outcome
			}
		})
	}
	wg.Wait()
}

// due reports whether j's latest activation at or before now must run
// (see catchUp), and which it is.
func (s *Scheduler) due(ctx context.Context, j *job, now time.Time) (time.Time, bool) {
	latest := lastActivation(j.sched, now)
	if latest.IsZero() {
		return time.Time{}, false
	}
	runs, err := s.st.ListJobRuns(ctx, j.Name, 1)
	switch {
	case err != nil:
		if ctx.Err() == nil {
			s.log.Error("job: catch up: read the last run; the next activation will run", "job", j.Name, "err", err)
		}
		return time.Time{}, false
	case len(runs) == 0:
		return latest, true
	}
	last := runs[0]
	s.noteOK(j.Name, last)
	switch {
	case last.ScheduledAt.Before(latest):
		return latest, true
	case last.ScheduledAt.Equal(latest) && last.Outcome == store.RunRunning:
		return latest, true // RunScheduled waits for the lease, then takes it over
	}
	return time.Time{}, false
}

// lookback are the windows searched, in turn, for a schedule's latest
// activation: the first that holds one is walked forward.
var lookback = []time.Duration{
	time.Hour, 24 * time.Hour, 8 * 24 * time.Hour, 32 * 24 * time.Hour,
	367 * 24 * time.Hour, 5 * 367 * 24 * time.Hour,
}

// lastActivation returns sched's latest activation at or before now, or
// the zero time if it has none in the last five years or has no fixed
// activations (@every). now is in the scheduler's location, which is what
// a standard spec without CRON_TZ is read in.
func lastActivation(sched cron.Schedule, now time.Time) time.Time {
	if _, ok := sched.(cron.ConstantDelaySchedule); ok {
		return time.Time{}
	}
	for _, back := range lookback {
		t := sched.Next(now.Add(-back))
		if t.IsZero() || t.After(now) {
			continue
		}
		for {
			next := sched.Next(t)
			if next.IsZero() || next.After(now) {
				return t
			}
			t = next
		}
	}
	return time.Time{}
}
