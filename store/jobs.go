package store

import (
	"context"
	"time"
)

// Job run outcomes.
const (
	RunRunning = "running"
	RunOK      = "ok"
	RunFailed  = "failed"
)

// JobRun is one run of a scheduled job. (Job, ScheduledAt) identifies it:
// the cron activation it is for, whichever replica runs it.
type JobRun struct {
	Job         string         `json:"job"`
	ScheduledAt time.Time      `json:"scheduled_at"`
	Holder      string         `json:"holder"` // the replica that ran it last
	StartedAt   time.Time      `json:"started_at"`
	FinishedAt  time.Time      `json:"finished_at,omitzero"`
	Outcome     string         `json:"outcome"` // RunRunning, RunOK or RunFailed
	Counts      map[string]int `json:"counts,omitempty"`
	Error       string         `json:"error,omitempty"`
	// Starts counts the replicas that started it: more than one means a
	// takeover from a leader that died or lost its lease.
	Starts int `json:"starts"`
}

// JobRuns records the runs of scheduled jobs, so that a run is made once
// between all replicas, a run a dead leader left unfinished is taken
// over, and a run missed while no replica was up is caught up.
//
// The record is bookkeeping, not a lock: two replicas that start a new
// run at the same moment are both told started (and Starts counts 2).
// Which replica runs a job is decided by its lease (Leases); the record
// only says whether the run was made already and by whom.
//
// Times are kept in UTC to the microsecond (truncated); a run is
// identified by its ScheduledAt so kept. The last 1,000 runs of each job
// (by ScheduledAt) are kept: finishing a run deletes older ones.
type JobRuns interface {
	// StartJobRun records that holder starts the run (job, scheduledAt) at
	// at — or takes it over, if it is recorded as running (Starts is
	// incremented). A run already finished, ok or failed, is returned
	// unchanged with started false: it must not be made again (the next
	// activation tries again). It returns the run as stored.
	StartJobRun(ctx context.Context, job string, scheduledAt time.Time, holder string, at time.Time) (run JobRun, started bool, err error)
	// FinishJobRun stores the run's outcome (RunOK or RunFailed), counts,
	// error and FinishedAt — and its Holder, if set: the replica that
	// finished it — on the run (run.Job, run.ScheduledAt) as recorded;
	// its StartedAt and Starts stay. ErrNotFound if the run was never
	// started. A run recorded as ok stays as it is (a late finish of a
	// replica that was taken over changes nothing, and is not an error).
	FinishJobRun(ctx context.Context, run JobRun) error
	// GetJobRun returns the run (job, scheduledAt), scheduledAt taken to
	// the microsecond as runs keep it, or ErrNotFound.
	GetJobRun(ctx context.Context, job string, scheduledAt time.Time) (JobRun, error)
	// ListJobRuns returns up to limit runs of job, latest ScheduledAt
	// first. A limit of 0 or less returns none. job must be named (""
	// is an error): runs are listed one job at a time.
	ListJobRuns(ctx context.Context, job string, limit int) ([]JobRun, error)
}
