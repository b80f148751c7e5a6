package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/jobrun"
)

func jobRunOp(verb, job string, scheduledAt time.Time) string {
	return verb + " job run " + job + " of " + scheduledAt.UTC().Format(time.RFC3339Nano)
}

// getJobRun reads a stored run; ok is false if there is none.
func getJobRun(tx *bolt.Tx, key []byte) (run store.JobRun, ok bool, err error) {
	return getJSON[store.JobRun](tx.Bucket(bucketJobRuns), key)
}

// putJobRun writes run.
func putJobRun(tx *bolt.Tx, run store.JobRun) error {
	v, err := json.Marshal(run)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketJobRuns).Put(jobrun.Key(run.Job, run.ScheduledAt), v)
}

// pruneJobRuns deletes job's runs older than the last jobrun.Keep.
func pruneJobRuns(tx *bolt.Tx, job string) error {
	runs := tx.Bucket(bucketJobRuns)
	prefix := jobrun.JobPrefix(job)
	c := runs.Cursor()
	k, _ := c.Seek(index.Successor(prefix))
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	kept := 0
	for ; k != nil && bytes.HasPrefix(k, prefix) && kept < jobrun.Keep; k, _ = c.Prev() {
		kept++
	}
	var old [][]byte
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := runs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// StartJobRun records that holder starts (or takes over) a run, in one
// write transaction; see store.JobRuns and jobrun.Start.
func (s *Store) StartJobRun(ctx context.Context, job string, scheduledAt time.Time, holder string, at time.Time) (store.JobRun, bool, error) {
	op := jobRunOp("start", job, scheduledAt)
	if err := s.check(ctx, op); err != nil {
		return store.JobRun{}, false, err
	}
	if err := jobrun.CheckStart(job, scheduledAt, holder, at); err != nil {
		return store.JobRun{}, false, fmt.Errorf("embedded: %s: %w", op, err)
	}
	scheduledAt, at = jobrun.Time(scheduledAt), jobrun.Time(at)
	key := jobrun.Key(job, scheduledAt)
	var run store.JobRun
	var started bool
	err := s.w.write(false, func(tx *bolt.Tx) error {
		cur, ok, err := getJobRun(tx, key)
		if err != nil {
			return err
		}
		var curp *store.JobRun
		if ok {
			curp = &cur
		}
		run, started = jobrun.Start(curp, job, scheduledAt, holder, at)
		if !started {
			return nil
		}
		return putJobRun(tx, run)
	})
	if err != nil {
		return store.JobRun{}, false, s.wrap(op, err)
	}
	return run, started, nil
}

// FinishJobRun stores a run's outcome and deletes the job's runs older
// than the last jobrun.Keep, in one write transaction; see store.JobRuns
// and jobrun.Finish. ErrNotFound if the run was never started.
func (s *Store) FinishJobRun(ctx context.Context, run store.JobRun) error {
	op := jobRunOp("finish", run.Job, run.ScheduledAt)
	if err := s.check(ctx, op); err != nil {
		return err
	}
	run, err := jobrun.CheckFinish(run)
	if err != nil {
		return fmt.Errorf("embedded: %s: %w", op, err)
	}
	key := jobrun.Key(run.Job, run.ScheduledAt)
	var found bool
	err = s.w.write(false, func(tx *bolt.Tx) error {
		cur, ok, err := getJobRun(tx, key)
		if err != nil || !ok {
			found = false
			return err
		}
		found = true
		next, write := jobrun.Finish(cur, run)
		if !write {
			return nil
		}
		if err := putJobRun(tx, next); err != nil {
			return err
		}
		return pruneJobRuns(tx, run.Job)
	})
	if err != nil {
		return s.wrap(op, err)
	}
	if !found {
		return fmt.Errorf("embedded: %s: %w", op, store.ErrNotFound)
	}
	return nil
}

// GetJobRun returns the run (job, scheduledAt), or store.ErrNotFound.
func (s *Store) GetJobRun(ctx context.Context, job string, scheduledAt time.Time) (store.JobRun, error) {
	return getRecord[store.JobRun](ctx, s, jobRunOp("get", job, scheduledAt), bucketJobRuns, jobrun.Key(job, jobrun.Time(scheduledAt)))
}

// ListJobRuns returns up to limit runs of job, latest ScheduledAt first,
// from its keys; see store.JobRuns.
func (s *Store) ListJobRuns(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	op := "list job runs"
	if job != "" {
		op += " of " + job
	}
	if err := s.check(ctx, op); err != nil {
		return nil, err
	}
	if err := jobrun.CheckList(job); err != nil {
		return nil, fmt.Errorf("embedded: %s: %w", op, err)
	}
	out := []store.JobRun{}
	if limit <= 0 {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := jobrun.JobPrefix(job)
		c := tx.Bucket(bucketJobRuns).Cursor()
		k, v := c.Seek(index.Successor(prefix))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit; k, v = c.Prev() {
			var run store.JobRun
			if err := json.Unmarshal(v, &run); err != nil {
				return fmt.Errorf("decode job run: %w", err)
			}
			out = append(out, run)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}
