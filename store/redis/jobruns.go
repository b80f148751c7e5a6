package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/jobrun"
)

// putJobRunScript writes a job run if it is still what the caller read
// (compare and set), and indexes it; given a job's key range, it then
// deletes the job's runs older than the last jobrun.Keep.
// KEYS: jobrun hash, jobrun:idx. ARGV: key, JSON as read ("" if there
// was none: it must still be absent), new JSON, the job's range in
// jobrun:idx ("[" ‖ prefix and "(" ‖ its successor, or "" and "" not to
// prune), how many runs to keep.
// Returns 1 if written, 0 if the run changed since it was read.
var putJobRunScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[4] ~= '' then
  local keep = tonumber(ARGV[6])
  local n = redis.call('ZLEXCOUNT', KEYS[2], ARGV[4], ARGV[5])
  if n > keep then
    local old = redis.call('ZRANGE', KEYS[2], ARGV[4], ARGV[5], 'BYLEX', 'LIMIT', 0, n - keep)
    for _, m in ipairs(old) do
      redis.call('HDEL', KEYS[1], m)
      redis.call('ZREM', KEYS[2], m)
    end
  end
end
return 1
`)

func jobRunOp(verb, job string, scheduledAt time.Time) string {
	return verb + " job run " + job + " of " + scheduledAt.UTC().Format(time.RFC3339Nano)
}

// modifyJobRun reads a run (raw "" if there is none), gives it to
// change, and writes what change returns (if it says to) with
// putJobRunScript, pruning the job's runs if prune is set; when another
// replica wrote the run in between, it reads it again and calls change
// again.
func (s *Store) modifyJobRun(ctx context.Context, op, job string, scheduledAt time.Time, prune bool, change func(cur *store.JobRun) (store.JobRun, bool, error)) error {
	key := string(jobrun.Key(job, scheduledAt))
	keys := []string{s.k.jobRun, s.k.jobRunIdx}
	lo, hi := "", ""
	if prune {
		prefix := jobrun.JobPrefix(job)
		lo, hi = "["+string(prefix), "("+string(index.Successor(prefix))
	}
	return retryCAS(ctx, op, func() (bool, error) {
		raw, err := s.client.HGet(ctx, s.k.jobRun, key).Result()
		var cur *store.JobRun
		switch {
		case errors.Is(err, goredis.Nil):
			raw = ""
		case err != nil:
			return false, s.wrap(op, err)
		default:
			cur = new(store.JobRun)
			if err := json.Unmarshal([]byte(raw), cur); err != nil {
				return false, fmt.Errorf("redis: %s: decode: %w", op, err)
			}
		}
		run, write, err := change(cur)
		if err != nil {
			return false, err
		}
		if !write {
			return true, nil
		}
		v, err := json.Marshal(run)
		if err != nil {
			return false, fmt.Errorf("redis: %s: %w", op, err)
		}
		n, err := s.pipe.run(ctx, putJobRunScript, keys, key, raw, v, lo, hi, jobrun.Keep)
		if err != nil {
			return false, s.wrap(op, err)
		}
		if n == int64(1) {
			return true, nil
		}
		return false, nil
	})
}

// StartJobRun records that holder starts (or takes over) a run: it reads
// the run and writes the next state if the run is still as read (compare
// and set), else reads it again; see store.JobRuns and jobrun.Start.
func (s *Store) StartJobRun(ctx context.Context, job string, scheduledAt time.Time, holder string, at time.Time) (store.JobRun, bool, error) {
	op := jobRunOp("start", job, scheduledAt)
	if err := s.check(op); err != nil {
		return store.JobRun{}, false, err
	}
	if err := jobrun.CheckStart(job, scheduledAt, holder, at); err != nil {
		return store.JobRun{}, false, fmt.Errorf("redis: %s: %w", op, err)
	}
	scheduledAt, at = jobrun.Time(scheduledAt), jobrun.Time(at)
	var run store.JobRun
	var started bool
	err := s.modifyJobRun(ctx, op, job, scheduledAt, false, func(cur *store.JobRun) (store.JobRun, bool, error) {
		run, started = jobrun.Start(cur, job, scheduledAt, holder, at)
		return run, started, nil
	})
	if err != nil {
		return store.JobRun{}, false, err
	}
	return run, started, nil
}

// FinishJobRun stores a run's outcome (compare and set) and, in the same
// script, deletes the job's runs older than the last jobrun.Keep; see
// store.JobRuns and jobrun.Finish. ErrNotFound if the run was never
// started.
func (s *Store) FinishJobRun(ctx context.Context, run store.JobRun) error {
	op := jobRunOp("finish", run.Job, run.ScheduledAt)
	if err := s.check(op); err != nil {
		return err
	}
	run, err := jobrun.CheckFinish(run)
	if err != nil {
		return fmt.Errorf("redis: %s: %w", op, err)
	}
	return s.modifyJobRun(ctx, op, run.Job, run.ScheduledAt, true, func(cur *store.JobRun) (store.JobRun, bool, error) {
		if cur == nil {
			return store.JobRun{}, false, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		}
		next, write := jobrun.Finish(*cur, run)
		return next, write, nil
	})
}

// GetJobRun returns the run (job, scheduledAt), or store.ErrNotFound.
func (s *Store) GetJobRun(ctx context.Context, job string, scheduledAt time.Time) (store.JobRun, error) {
	op := jobRunOp("get", job, scheduledAt)
	if err := s.check(op); err != nil {
		return store.JobRun{}, err
	}
	var run store.JobRun
	if err := s.getJSON(ctx, op, s.k.jobRun, string(jobrun.Key(job, jobrun.Time(scheduledAt))), &run); err != nil {
		return store.JobRun{}, err
	}
	return run, nil
}

// ListJobRuns returns up to limit runs of job, latest ScheduledAt first,
// from jobrun:idx (its members in reverse lexical order); see
// store.JobRuns. A run pruned between the two reads is left out.
func (s *Store) ListJobRuns(ctx context.Context, job string, limit int) ([]store.JobRun, error) {
	op := "list job runs"
	if job != "" {
		op += " of " + job
	}
	if err := s.check(op); err != nil {
		return nil, err
	}
	if err := jobrun.CheckList(job); err != nil {
		return nil, fmt.Errorf("redis: %s: %w", op, err)
	}
	out := []store.JobRun{}
	if limit <= 0 {
		return out, nil
	}
	prefix := jobrun.JobPrefix(job)
	z := goredis.ZRangeArgs{Key: s.k.jobRunIdx, Start: "(" + string(index.Successor(prefix)), Stop: "[" + string(prefix),
		ByLex: true, Rev: true, Count: int64(limit)}
	members, err := s.client.ZRangeArgs(ctx, z).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	if len(members) == 0 {
		return out, nil
	}
	values, err := s.client.HMGet(ctx, s.k.jobRun, members...).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	for _, v := range values {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		var run store.JobRun
		if err := json.Unmarshal([]byte(raw), &run); err != nil {
			return nil, fmt.Errorf("redis: %s: decode: %w", op, err)
		}
		out = append(out, run)
	}
	return out, nil
}
