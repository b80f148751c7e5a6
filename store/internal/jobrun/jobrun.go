// Package jobrun holds what the store backends share of store.JobRuns:
// the checks and the normal form of a run, its keys, and the transitions
// StartJobRun and FinishJobRun make, so that both backends keep runs
// alike.
package jobrun

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// Keep is how many runs of a job are kept: finishing a run deletes the
// job's runs older than the last Keep (by ScheduledAt).
const Keep = 1000

// Time returns t as runs keep it: UTC, to the microsecond (truncated),
// without a monotonic reading.
func Time(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Micros is a run time as the keys hold it: µs since the Unix epoch.
func Micros(t time.Time) int64 { return t.UnixMicro() }

// Key is the primary key of a run: the tuple (job, ScheduledAt µs), so
// that one job's runs are together, in time order.
func Key(job string, scheduledAt time.Time) []byte {
	return index.AppendInt(JobPrefix(job), Micros(scheduledAt))
}

// JobPrefix is what the keys of job's runs start with.
func JobPrefix(job string) []byte { return index.AppendString(nil, job) }

func checkTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("job run %s %v out of range", what, t)
	}
	return nil
}

func checkJob(job string) error {
	if job == "" || !utf8.ValidString(job) {
		return errors.New("a job run needs a job name, in UTF-8")
	}
	return nil
}

// CheckList checks ListJobRuns's job: runs are listed one job at a time.
func CheckList(job string) error {
	if job == "" {
		return errors.New("no job named: job runs are listed one job at a time")
	}
	return nil
}

// CheckStart checks StartJobRun's arguments.
func CheckStart(job string, scheduledAt time.Time, holder string, at time.Time) error {
	if err := checkJob(job); err != nil {
		return err
	}
	if holder == "" || !utf8.ValidString(holder) {
		return errors.New("a job run needs a holder, in UTF-8")
	}
	if scheduledAt.IsZero() {
		return errors.New("a job run needs the time it is scheduled at")
	}
	if err := checkTime("scheduled time", scheduledAt); err != nil {
		return err
	}
	return checkTime("start time", at)
}

// Start is StartJobRun's transition: cur is the stored run (nil if there
// is none), scheduledAt and at are in normal form (Time). It returns the
// run as it is to be stored and whether holder starts it; a started run
// is to be written, one not started is left as it is:
//
//	none     created running, Starts 1                      started
//	running  taken over: Holder, StartedAt, Starts+1        started
//	ok       unchanged                                      not started
//	failed   unchanged                                      not started
//
// A finished run, ok or failed, is never started again: one run per
// activation; the next activation tries again.
func Start(cur *store.JobRun, job string, scheduledAt time.Time, holder string, at time.Time) (run store.JobRun, started bool) {
	if cur == nil {
		return store.JobRun{Job: job, ScheduledAt: scheduledAt, Holder: holder, StartedAt: at, Outcome: store.RunRunning, Starts: 1}, true
	}
	if cur.Outcome != store.RunRunning {
		return *cur, false
	}
	run = *cur
	run.Holder, run.StartedAt = holder, at
	run.Starts++
	return run, true
}

// CheckFinish checks FinishJobRun's run and returns it in normal form.
func CheckFinish(run store.JobRun) (store.JobRun, error) {
	if err := checkJob(run.Job); err != nil {
		return run, err
	}
	if run.Outcome != store.RunOK && run.Outcome != store.RunFailed {
		return run, fmt.Errorf("finish a job run with outcome %q: want %q or %q", run.Outcome, store.RunOK, store.RunFailed)
	}
	if run.ScheduledAt.IsZero() {
		return run, errors.New("a job run needs the time it is scheduled at")
	}
	if err := checkTime("scheduled time", run.ScheduledAt); err != nil {
		return run, err
	}
	if err := checkTime("finish time", run.FinishedAt); err != nil {
		return run, err
	}
	if !utf8.ValidString(run.Holder) || !utf8.ValidString(run.Error) {
		return run, errors.New("a job run's holder and error must be UTF-8")
	}
	run.ScheduledAt, run.FinishedAt = Time(run.ScheduledAt), Time(run.FinishedAt)
	return run, nil
}

// Finish is FinishJobRun's transition: cur is the stored run, run the
// finished one (CheckFinish). The stored run takes run's Outcome,
// Counts, Error and FinishedAt, and its Holder if it names one; its
// StartedAt and Starts stay. A run stored as ok stays as it is (write
// false): once made, a run is not unmade by a late finish of a replica
// that was taken over.
func Finish(cur, run store.JobRun) (store.JobRun, bool) {
	if cur.Outcome == store.RunOK {
		return cur, false
	}
	cur.Outcome, cur.Counts, cur.Error, cur.FinishedAt = run.Outcome, run.Counts, run.Error, run.FinishedAt
	if run.Holder != "" {
		cur.Holder = run.Holder
	}
	return cur, true
}
