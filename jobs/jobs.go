// Package jobs is wecomply's cron: every replica runs a Scheduler with the
// same jobs, and each activation of a job is run once between them.
//
// A run is identified by the job's name and the activation it is for (its
// scheduled time, to the minute), whichever replica runs it. The replica
// that takes the job's lease in the store runs it and records it
// (store.JobRuns); the others wait until it is recorded finished. The
// lease is renewed while the job runs, so a leader that dies mid-run
// stops renewing it, its lease expires, and a waiting replica (or, if
// none was waiting, the next one to start) takes the run over and runs it
// again from the start. Jobs must therefore be idempotent and resumable:
// a run may be cut off at any point and made again, and the second run
// must neither repeat what the first completed (a reminder sent, a record
// purged) nor miss what it did not.
//
// A run missed while no replica was up is caught up once at start-up:
// one run for the latest activation, however many were missed.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/wecomply/wecomply/store"
)

// Func is a job's work for the activation at now's minute. It must be
// idempotent and resumable (see the package documentation), return when
// ctx ends, and may report what it did as counts (e.g. "sent": 12).
type Func func(ctx context.Context, now time.Time) (counts map[string]int, err error)

// Job is a named job on a cron schedule.
type Job struct {
	// Name identifies the job in the store, logs, metrics and the admin
	// API; it must be unique within a Scheduler.
	Name string
	// Spec is a standard cron spec (five fields, minute hour day month
	// weekday, or a descriptor such as @daily), in the Scheduler's
	// location. "" turns the job off: it is listed but never scheduled.
	Spec string
	Run  Func
}

// Store is what the scheduler needs of the store.
type Store interface {
	store.Leases
	store.JobRuns
}

// Config tunes a Scheduler. Zero fields take their defaults.
type Config struct {
	// Location is the zone the specs are read in. Default UTC.
	Location *time.Location
	// Lease is how long a job's lease lasts without renewal: how soon
	// another replica takes over from a leader that died. It is renewed
	// every Lease/3 while the job runs, and waiting replicas look at the
	// run as often. Default one minute.
	Lease time.Duration
	// Timeout bounds one run of a job. Default 15 minutes.
	Timeout time.Duration
	// Holder names this replica in leases and job runs; it must differ
	// between replicas. Default hostname-pid.
	Holder string
	// Now is the clock of run records, catch-up and next activations.
	// (The cron fires on the wall clock, and leases expire on the
	// store's.) Default time.Now.
	Now func() time.Time
	// Logger receives one record per run and cron's own messages.
	// Default slog.Default().
	Logger *slog.Logger
}

// Info describes one job as the scheduler knows it.
type Info struct {
	Name string
	Spec string
	// Off: the job has no spec and is never scheduled.
	Off bool
	// Next is the job's next activation after now; zero when it is off.
	Next time.Time
}

// Scheduler runs jobs on their cron schedules, each activation once
// between all the replicas sharing its store. Create it with New, Add the
// jobs, then Start it; Stop it at shutdown.
type Scheduler struct {
	st      Store
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	cron    *cron.Cron

	mu      sync.Mutex
	jobs    []*job
	byName  map[string]*job
	started bool
	stopped bool
	cancel  context.CancelFunc // ends Start's context: waits and catch-up
	wg      sync.WaitGroup     // catch-up goroutines
}

// job is an added Job with its parsed schedule.
type job struct {
	Job
	sched cron.Schedule // nil when off
	entry cron.EntryID  // set by Start
	// sem lets one run of the job at a time into RunScheduled on this
	// replica: two runs of one holder would share its lease.
	sem chan struct{}
}

// New builds a Scheduler on st. Its metrics are registered with reg
// (none when reg is nil).
func New(st Store, cfg Config, reg prometheus.Registerer) (*Scheduler, error) {
	if st == nil {
		return nil, errors.New("jobs: a store is required")
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Minute
	}
	if cfg.Holder == "" {
		host, _ := os.Hostname()
		cfg.Holder = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "jobs")
	cl := cronLogger{log: log}
	return &Scheduler{
		st:      st,
		cfg:     cfg,
		log:     log,
		metrics: m,
		byName:  map[string]*job{},
		// The default chain recovers nothing: a panic would take the
		// process down. RunScheduled recovers the job's own panics (and
		// records the run failed); Recover is the net under the rest.
		// SkipIfStillRunning: an activation that comes while the previous
		// one still runs (or waits for another replica) is skipped.
		cron: cron.New(
			cron.WithLocation(cfg.Location),
			cron.WithChain(cron.Recover(cl), cron.SkipIfStillRunning(cl)),
			cron.WithLogger(cl),
		),
	}, nil
}

// Add adds j. Its spec is parsed as a standard cron spec; "" adds the job
// off (listed, never scheduled). Jobs are added before Start.
func (s *Scheduler) Add(j Job) error {
	if j.Name == "" || j.Run == nil {
		return errors.New("jobs: add: a job needs a name and a func")
	}
	var sched cron.Schedule
	if j.Spec != "" {
		var err error
		if sched, err = cron.ParseStandard(j.Spec); err != nil {
			return fmt.Errorf("jobs: add %s: spec %q: %w", j.Name, j.Spec, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return fmt.Errorf("jobs: add %s: the scheduler has already started", j.Name)
	}
	if s.byName[j.Name] != nil {
		return fmt.Errorf("jobs: add %s: a job of that name was added before", j.Name)
	}
	jb := &job{Job: j, sched: sched, sem: make(chan struct{}, 1)}
	s.jobs = append(s.jobs, jb)
	s.byName[j.Name] = jb
	s.metrics.init(j.Name)
	return nil
}

// Jobs lists the jobs in the order they were added, with their next
// activation.
func (s *Scheduler) Jobs() []Info {
	s.mu.Lock()
	jobs := s.jobs
	s.mu.Unlock()
	now := s.cfg.Now().In(s.cfg.Location)
	out := make([]Info, len(jobs))
	for i, j := range jobs {
		out[i] = Info{Name: j.Name, Spec: j.Spec, Off: j.sched == nil}
		if j.sched != nil {
			out[i].Next = j.sched.Next(now)
		}
	}
	return out
}

// Start catches up the runs missed while no replica ran (in the
// background: see catchUp) and starts the cron. ctx bounds the waits for
// other replicas and the catch-up; ending it (or Stop) stops them, but
// not a job already running, which ends within its Timeout. Start does
// nothing after the first call or after Stop.
func (s *Scheduler) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopped {
		return
	}
	s.started = true
	ctx, s.cancel = context.WithCancel(ctx)
	for _, j := range s.jobs {
		if j.sched == nil {
			continue
		}
		j.entry = s.cron.Schedule(j.sched, cron.FuncJob(func() { s.activate(ctx, j) }))
	}
	s.wg.Go(func() { s.catchUp(ctx) })
	s.cron.Start()
	s.log.Info("cron started", "jobs", len(s.jobs), "holder", s.cfg.Holder, "location", s.cfg.Location.String())
}

// Stop stops the cron and the catch-up and returns a context that is done
// once every run in progress on this replica has finished, been recorded
// and released its lease. A job already running is not interrupted: it
// ends on its own or at its Timeout; if the process exits before that,
// its lease expires and another replica takes the run over. Stop may be
// called more than once, and without Start.
func (s *Scheduler) Stop() context.Context {
	s.mu.Lock()
	s.stopped = true
	cancel := s.cancel
	s.mu.Unlock()
	cronDone := s.cron.Stop()
	if cancel != nil {
		cancel()
	}
	ctx, done := context.WithCancel(context.Background())
	go func() {
		<-cronDone.Done()
		s.wg.Wait()
		done()
	}()
	return ctx
}

// activate is what a cron activation of j does: run the activation it is
// for. RunScheduled logs the outcome.
func (s *Scheduler) activate(ctx context.Context, j *job) {
	_, _ = s.RunScheduled(ctx, j.Name, s.activationTime(j))
}

// activationTime is the activation the cron is running j for: its entry's
// Prev (set by the cron before anything can read it), to the minute; the
// current minute if the cron does not know.
func (s *Scheduler) activationTime(j *job) time.Time {
	at := s.cron.Entry(j.entry).Prev
	if at.IsZero() {
		at = s.cfg.Now()
	}
	return at.In(s.cfg.Location).Truncate(time.Minute)
}

// poll is how often a lease is renewed and a waiting replica looks.
func (s *Scheduler) poll() time.Duration { return max(s.cfg.Lease/3, time.Millisecond) }

// LastOK returns the scheduled time of name's latest run recorded ok that
// was scheduled before before (false if none among its latest 100 runs):
// e.g. the digest reports on what happened since the last digest made.
func (s *Scheduler) LastOK(ctx context.Context, name string, before time.Time) (time.Time, bool, error) {
	runs, err := s.st.ListJobRuns(ctx, name, 100)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("jobs: runs of %s: %w", name, err)
	}
	for _, r := range runs { // latest first
		if r.Outcome == store.RunOK && r.ScheduledAt.Before(before) {
			return r.ScheduledAt, true, nil
		}
	}
	return time.Time{}, false, nil
}
