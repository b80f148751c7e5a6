package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// The due index (see index.DueScan): per notice version of the schedule
// IndexDue was given, a sorted set of due entries (…:obl:due:NOTICE:VERSION,
// all scores 0, read BYLEX), kept by every script that writes an
// obligation (luaKeepDue) while obl:duefor says it is built, or being
// built, for the writer's cadence.

// dueArgs are the five values luaKeepDue takes after its keys for an
// obligation written from old to o (nil: none): the cadence sched gives
// its notice version ("" if none), its old due entries and its new ones
// ("" for none).
func dueArgs(sched *index.Schedule, old, o *policy.Obligation) []any {
	out := []any{"", "", "", "", ""}
	ref := o
	if ref == nil {
		ref = old
	}
	if ref == nil {
		return out
	}
	cadence, ok := sched.Cadence(ref.NoticeID, ref.Version)
	if !ok {
		return out
	}
	out[0] = cadence
	for i, e := range sched.Entries(old) {
		out[1+i] = string(e)
	}
	for i, e := range sched.Entries(o) {
		out[3+i] = string(e)
	}
	return out
}

// keyIndex returns the 1-based position of key in *keys, appending it
// the first time (at remembers the positions).
func keyIndex(keys *[]string, at map[string]int, key string) int {
	if i, ok := at[key]; ok {
		return i
	}
	*keys = append(*keys, key)
	at[key] = len(*keys)
	return len(*keys)
}

// IndexDue makes notices the store's schedule and builds the due index
// of each that is not built for its cadence; see store.Obligations. It
// also drops the indexes of the versions before each (superseded: the
// reminder run never reads them). A build another replica or writer
// overtakes (another build began, or a writer of another cadence marked
// the index stale) is left for ListObligationsDue to make.
func (s *Store) IndexDue(ctx context.Context, notices []policy.Notice) error {
	const op = "index due obligations"
	if err := s.check(op); err != nil {
		return err
	}
	sched := index.NewSchedule(notices)
	s.due.Store(sched)
	markers, err := s.client.HGetAll(ctx, s.k.oblDueFor).Result()
	if err != nil {
		return s.wrap(op, err)
	}
	for _, n := range sched.Notices() {
		if err := s.dropEarlierDue(ctx, n, markers); err != nil {
			return s.wrap(op, err)
		}
		if markers[s.k.oblDue(n.ID, n.Version)] == n.Cadence() {
			continue
		}
		if _, err := s.buildDue(ctx, sched, n); err != nil {
			return err
		}
	}
	return nil
}

// dropEarlierDue deletes the due indexes of the versions of n's notice
// before n's, of those markers names.
func (s *Store) dropEarlierDue(ctx context.Context, n policy.Notice, markers map[string]string) error {
	prefix := s.k.prefix + "obl:due:" + escapeScope(n.ID) + ":" // as oblDue makes it, before the version
	for key := range markers {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		if v, err := strconv.Atoi(rest); err != nil || v >= n.Version {
			continue
		}
		_, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.Unlink(ctx, key)
			p.HDel(ctx, s.k.oblDueFor, key)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// startDueScript clears a due index and marks it being built.
// KEYS: the due index, obl:duefor. ARGV: the building marker.
var startDueScript = goredis.NewScript(`
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], KEYS[1], ARGV[1])
return 1
`)

// addDueScript adds the entries of obligations still as read to a due
// index being built, while it is still this build's.
// KEYS: obl hash, the due index, obl:duefor. ARGV: the building marker,
// then per obligation its key, its JSON as read and two entries ("" for
// none).
// Returns 1, or 0 if the marker is no longer this build's (nothing
// added).
var addDueScript = goredis.NewScript(`
if redis.call('HGET', KEYS[3], KEYS[2]) ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 4 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    if ARGV[i + 2] ~= '' then redis.call('ZADD', KEYS[2], 0, ARGV[i + 2]) end
    if ARGV[i + 3] ~= '' then redis.call('ZADD', KEYS[2], 0, ARGV[i + 3]) end
  end
end
return 1
`)

// finishDueScript marks a due index built for a cadence if it is still
// this build's. KEYS: the due index, obl:duefor. ARGV: the building
// marker, the cadence. Returns 1 if it did, else 0.
var finishDueScript = goredis.NewScript(`
if redis.call('HGET', KEYS[2], KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], KEYS[1], ARGV[2])
return 1
`)

// dueBuildBatch is how many obligations one addDueScript indexes, so
// that building the index of 100,000 never holds Redis for long.
const dueBuildBatch = 1000

// buildDue builds n's due index from its stored obligations: it clears
// the index and marks it being built by a fresh token (writes of n's
// cadence keep it from then on), adds the entries of dueBuildBatch
// obligations per script (each only if it is still as read), and marks
// it built. built is false if another build or a writer of another
// cadence took the marker meanwhile.
func (s *Store) buildDue(ctx context.Context, sched *index.Schedule, n policy.Notice) (built bool, err error) {
	op := "build the due index of " + n.Key()
	start := time.Now()
	var token [8]byte
	if _, err := rand.Read(token[:]); err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	zkey := s.k.oblDue(n.ID, n.Version)
	marker := index.DueBuilding(n.Cadence(), hex.EncodeToString(token[:]))
	if err := startDueScript.Run(ctx, s.client, []string{zkey, s.k.oblDueFor}, marker).Err(); err != nil {
		return false, s.wrap(op, err)
	}
	// The notice version's obligations: the members of obl:idx that start
	// with its (notice, version) tuple.
	prefix := string(index.DuePrefix(n.ID, n.Version))
	from, to := "["+prefix, "("+string(index.Successor([]byte(prefix)))
	total := 0
	for {
		members, err := s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
			Key: s.k.oblIdx, Start: from, Stop: to, ByLex: true, Count: dueBuildBatch,
		}).Result()
		if err != nil {
			return false, s.wrap(op, err)
		}
		if len(members) == 0 {
			break
		}
		values, err := s.client.HMGet(ctx, s.k.obl, members...).Result()
		if err != nil {
			return false, s.wrap(op, err)
		}
		args := []any{marker}
		for i, v := range values {
			raw, ok := v.(string)
			if !ok {
				continue // gone since the index was read
			}
			var o policy.Obligation
			if err := json.Unmarshal([]byte(raw), &o); err != nil {
				return false, fmt.Errorf("redis: %s: decode obligation: %w", op, err)
			}
			entries := []any{"", ""}
			for j, e := range sched.Entries(&o) {
				entries[j] = string(e)
			}
			args = append(args, members[i], raw, entries[0], entries[1])
		}
		total += len(members)
		if len(args) > 1 {
			ours, err := addDueScript.Run(ctx, s.client, []string{s.k.obl, zkey, s.k.oblDueFor}, args...).Int()
			if err != nil {
				return false, s.wrap(op, err)
			}
			if ours == 0 {
				return false, nil
			}
		}
		if len(members) < dueBuildBatch {
			break
		}
		from = "(" + members[len(members)-1]
	}
	done, err := finishDueScript.Run(ctx, s.client, []string{zkey, s.k.oblDueFor}, marker, n.Cadence()).Int()
	if err != nil {
		return false, s.wrap(op, err)
	}
	if done == 1 {
		s.log.Log(ctx, index.DueBuildLevel(total), "redis store: built the index of the obligations due", "notice", n.Key(),
			"cadence", n.Cadence(), "obligations", total, "took", time.Since(start).Round(time.Millisecond))
	}
	return done == 1, nil
}

// dueBuildAttempts bounds the builds ListObligationsDue makes of an index
// that others keep taking over (replicas configured with different
// cadences).
const dueBuildAttempts = 3

// ListObligationsDue returns a page of the obligations of a notice
// version of the schedule that are due at until, from its due index
// (ZRANGE … BYLEX, then HMGET of the obligations); see
// store.Obligations. The index is checked to be built for the notice
// version's cadence first, and built if not.
func (s *Store) ListObligationsDue(ctx context.Context, noticeID string, version int, until time.Time, p store.Page) ([]policy.Obligation, string, error) {
	op := "list obligations of " + noticeID + " v" + strconv.Itoa(version) + " due"
	if err := s.check(op); err != nil {
		return nil, "", err
	}
	sched := s.due.Load()
	n, ok := sched.Notice(noticeID, version)
	if !ok {
		return nil, "", fmt.Errorf("redis: %s: the notice version was not given to IndexDue", op)
	}
	ranges, err := index.DueScan(until, p)
	if err != nil {
		return nil, "", fmt.Errorf("redis: %s: %w", op, err)
	}
	zkey := s.k.oblDue(noticeID, version)
	for attempt := 0; ; attempt++ {
		marker, err := s.client.HGet(ctx, s.k.oblDueFor, zkey).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return nil, "", s.wrap(op, err)
		}
		if marker == n.Cadence() {
			break
		}
		if attempt == dueBuildAttempts {
			return nil, "", fmt.Errorf("redis: %s: the index keeps being taken over (do replicas give different cadences?)", op)
		}
		if _, err := s.buildDue(ctx, sched, n); err != nil {
			return nil, "", err
		}
	}
	items, next, err := s.listDue(ctx, zkey, n, until, ranges, p.Size())
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	return items, next, nil
}

// listDue reads one page of n's due index zkey over ranges: the entries
// a chunk at a time, and their obligations with HMGET, until the page is
// full. An entry whose obligation is gone or changed since the entry
// was read, and is no longer due, is passed over.
func (s *Store) listDue(ctx context.Context, zkey string, n policy.Notice, until time.Time, ranges []index.DueRange, limit int) ([]policy.Obligation, string, error) {
	out := make([]policy.Obligation, 0, min(limit, 256))
	var last string // the entry of out's last item
	chunk := limit + 1
	for _, r := range ranges {
		from := "[" + string(r.Start)
		if r.Exclusive {
			from = "(" + string(r.Start)
		}
		for {
			entries, err := s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
				Key: zkey, Start: from, Stop: "(" + string(r.End), ByLex: true, Count: int64(chunk),
			}).Result()
			if err != nil {
				return nil, "", err
			}
			if len(entries) == 0 {
				break
			}
			fields := make([]string, len(entries))
			for i, e := range entries {
				user, ok := index.DueUser([]byte(e))
				if !ok {
					return nil, "", errors.New("malformed due entry")
				}
				fields[i] = string(index.ObligationKey(n.ID, n.Version, user))
			}
			values, err := s.client.HMGet(ctx, s.k.obl, fields...).Result()
			if err != nil {
				return nil, "", err
			}
			for i, v := range values {
				raw, ok := v.(string)
				if !ok {
					continue // purged since the index was read
				}
				var o policy.Obligation
				if err := json.Unmarshal([]byte(raw), &o); err != nil {
					return nil, "", fmt.Errorf("decode obligation: %w", err)
				}
				if !r.Holds(policy.NextDue(n, o), until) {
					continue // due later in until's millisecond (or from the other range)
				}
				if len(out) == limit {
					return out, index.Cursor([]byte(last)), nil
				}
				out = append(out, o)
				last = entries[i]
			}
			if len(entries) < chunk {
				break
			}
			from = "(" + entries[len(entries)-1]
		}
	}
	return out, "", nil
}
