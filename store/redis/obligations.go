package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// listLex reads one page of sc from the sorted set zkey, whose members
// name fields of the hash hkey by primary key (after sc.Fixed). Each
// round trip is one script (listLexScript) that reads a chunk of members
// with ZRANGE … BYLEX and their records with HMGET, until the page is
// full: a filter the index does not serve (the status of one person's
// obligations) reads on. keep decodes a record and says whether the
// filter selects it.
//
// Each chunk is one snapshot; a page of several chunks is not: a record
// changed between two chunks is returned as it is after the change, if
// the filter still selects it.
func listLex[T any](ctx context.Context, s *Store, zkey, hkey string, sc index.Scan, keep func(v string) (T, bool, error)) ([]T, string, error) {
	lo, exclusive := sc.Start()
	from := "-"
	switch {
	case exclusive:
		from = "(" + string(lo)
	case len(lo) > 0:
		from = "[" + string(lo)
	}
	to := "+"
	if end := sc.End(); end != nil {
		to = "(" + string(end)
	}
	// A page and one more, to know whether another follows; at most
	// lexChunk a script (Lua's unpack has a limit).
	chunk := min(sc.Limit+1, lexChunk)
	var out []T
	var last string // the primary key of out's last item
	for {
		res, err := s.pipe.run(ctx, listLexScript, []string{zkey, hkey}, from, to, chunk, len(sc.Fixed))
		if err != nil {
			return nil, "", err
		}
		members, values, err := lexReply(res)
		if out == nil {
			// Sized by what came back: most reads are one person's few
			// records, and a record type is hundreds of bytes.
			out = make([]T, 0, min(sc.Limit, len(members)))
		}
		if err != nil || len(members) == 0 {
			return out, "", err
		}
		for i, v := range values {
			str, ok := v.(string)
			if !ok {
				continue // an index entry without its record
			}
			item, ok, err := keep(str)
			if err != nil {
				return nil, "", err
			}
			if !ok {
				continue
			}
			if len(out) == sc.Limit {
				return out, index.Cursor([]byte(last)), nil
			}
			out = append(out, item)
			last = members[i][len(sc.Fixed):]
		}
		if len(members) < chunk {
			return out, "", nil
		}
		from = "(" + members[len(members)-1]
	}
}

// lexChunk is the most members listLexScript reads at once.
const lexChunk = 1001

// lexReply splits listLexScript's reply into the members and, for each,
// its record (nil if none).
func lexReply(res any) (members []string, values []any, err error) {
	pair, ok := res.([]any)
	if !ok || len(pair) != 2 {
		return nil, nil, fmt.Errorf("unexpected reply %T", res)
	}
	ms, _ := pair[0].([]any)
	values, _ = pair[1].([]any)
	if len(values) != len(ms) {
		return nil, nil, fmt.Errorf("unexpected reply: %d members, %d records", len(ms), len(values))
	}
	members = make([]string, len(ms))
	for i, m := range ms {
		if members[i], ok = m.(string); !ok {
			return nil, nil, fmt.Errorf("unexpected member %T", m)
		}
	}
	return members, values, nil
}

// Compare and set: how often a change is tried again when another writer
// changed the record between the read and the write, and the longest
// pause (with jitter) between tries.
const (
	casAttempts = 100
	casMaxPause = 20 * time.Millisecond
)

// pause sleeps a random time that grows with attempt, or until ctx ends.
func pause(ctx context.Context, attempt int, most time.Duration) error {
	d := min(time.Duration(100<<min(attempt, 16))*time.Microsecond, most)
	t := time.NewTimer(rand.N(d) + 1)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var errConflict = errors.New("the record kept changing while being updated")

// retryCAS runs a compare-and-set change of a record: try reads the
// record and writes it back only if it is still as read, and reports
// done false when another writer changed it in between. retryCAS then
// pauses (pause, up to casMaxPause) and calls try again, up to
// casAttempts times, after which it gives up with errConflict. An error
// from try ends it, returned as it is.
func retryCAS(ctx context.Context, op string, try func() (done bool, err error)) error {
	for attempt := 0; ; attempt++ {
		done, err := try()
		if err != nil || done {
			return err
		}
		if attempt+1 >= casAttempts {
			return fmt.Errorf("redis: %s: %w", op, errConflict)
		}
		if err := pause(ctx, attempt, casMaxPause); err != nil {
			return fmt.Errorf("redis: %s: %w", op, err)
		}
	}
}

func obligationOp(verb, userID, noticeID string, version int) string {
	return verb + " obligation (" + userID + ", " + noticeID + ", " + strconv.Itoa(version) + ")"
}

// statusMember is a record's member of a status index.
func statusMember(status string, key string) string {
	return string(index.Entry(status, []byte(key)))
}

// CreateObligation stores o unless its identity exists, in one script;
// see store.Obligations. An empty Status is stored as pending.
func (s *Store) CreateObligation(ctx context.Context, o policy.Obligation) (bool, error) {
	op := obligationOp("create", o.UserID, o.NoticeID, o.Version)
	if err := s.check(op); err != nil {
		return false, err
	}
	o, err := index.NewObligation(o)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	v, err := json.Marshal(o)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	key := string(index.KeyOf(o))
	args := append([]any{key, v, string(index.Entry(o.UserID, []byte(key))), statusMember(string(o.Status), key), string(o.Status)},
		dueArgs(s.due.Load(), nil, &o)...)
	n, err := s.pipe.run(ctx, createObligationScript,
		[]string{s.k.obl, s.k.oblIdx, s.k.oblUser, s.k.oblStatus, s.k.oblCount(o.NoticeID, o.Version),
			s.k.oblDue(o.NoticeID, o.Version), s.k.oblDueFor},
		args...)
	if err != nil {
		return false, s.wrap(op, err)
	}
	return n == int64(1), nil
}

// modifyObligation reads an obligation, gives it to change, and writes
// what change returns (if it says to) with casObligationScript, reading
// again and calling change again when another writer got in between.
func (s *Store) modifyObligation(ctx context.Context, op, userID, noticeID string, version int, change func(policy.Obligation) (policy.Obligation, bool, error)) error {
	key := string(index.ObligationKey(noticeID, version, userID))
	keys := []string{s.k.obl, s.k.oblStatus, s.k.oblCount(noticeID, version), s.k.oblDue(noticeID, version), s.k.oblDueFor}
	return retryCAS(ctx, op, func() (bool, error) {
		cur, err := s.client.HGet(ctx, s.k.obl, key).Result()
		switch {
		case errors.Is(err, goredis.Nil):
			return false, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		case err != nil:
			return false, s.wrap(op, err)
		}
		var old policy.Obligation
		if err := json.Unmarshal([]byte(cur), &old); err != nil {
			return false, fmt.Errorf("redis: %s: decode: %w", op, err)
		}
		o, write, err := change(old)
		if err != nil {
			return false, fmt.Errorf("redis: %s: %w", op, err)
		}
		if !write {
			return true, nil
		}
		v, err := json.Marshal(o)
		if err != nil {
			return false, fmt.Errorf("redis: %s: %w", op, err)
		}
		if string(v) == cur {
			return true, nil
		}
		args := append([]any{key, cur, v,
			statusMember(string(old.Status), key), statusMember(string(o.Status), key), string(old.Status), string(o.Status)},
			dueArgs(s.due.Load(), &old, &o)...)
		res, err := s.pipe.run(ctx, casObligationScript, keys, args...)
		if err != nil {
			return false, s.wrap(op, err)
		}
		switch res {
		case int64(1):
			return true, nil
		case int64(-1):
			return false, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		}
		return false, nil
	})
}

// CloseObligation closes an open obligation (compare and set); see
// store.Obligations. status must be superseded or cancelled; at becomes
// its ClosedAt.
func (s *Store) CloseObligation(ctx context.Context, userID, noticeID string, version int, status policy.ObligationStatus, reason policy.Reason, at time.Time) (bool, error) {
	op := obligationOp("close", userID, noticeID, version)
	if err := s.check(op); err != nil {
		return false, err
	}
	if err := index.CheckClose(status); err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	var changed bool
	err := s.modifyObligation(ctx, op, userID, noticeID, version, func(o policy.Obligation) (policy.Obligation, bool, error) {
		o, changed = index.Close(o, status, reason, at)
		return o, changed, nil
	})
	if err != nil {
		return false, err
	}
	return changed, nil
}

// UpdateObligation changes one obligation atomically: it reads it, calls
// fn, and writes the result only if the obligation is still as read
// (compare and set on its JSON), else it reads it again and calls fn
// again; see store.Obligations. An error from fn is returned wrapped.
func (s *Store) UpdateObligation(ctx context.Context, userID, noticeID string, version int, fn func(policy.Obligation) (policy.Obligation, error)) error {
	op := obligationOp("update", userID, noticeID, version)
	if err := s.check(op); err != nil {
		return err
	}
	return s.modifyObligation(ctx, op, userID, noticeID, version, func(old policy.Obligation) (policy.Obligation, bool, error) {
		o, err := fn(old)
		if err == nil {
			err = index.CheckUpdate(old, o)
		}
		return o, err == nil, err
	})
}

// UpdateObligations changes many obligations, index.UpdateBatch at a
// time; see store.Obligations. For each batch it reads the obligations
// in one round trip (HMGET), calls fn on each here, and writes those fn
// changed with one compare-and-set script (updateObligationsScript),
// which writes only the obligations still as read; those another writer
// changed in between are read again, given to fn again and written by
// the next script, until none is left. Repeated keys are updated once.
// If fn fails (or changes an identity) for one obligation, that error is
// returned, wrapped and naming the obligation, and nothing more is
// written: obligations of the batch written before (earlier batches, or
// earlier tries of the batch) stay written, the rest of it is not
// (calling again with the same fn is the way to finish, as fn must allow
// anyway).
func (s *Store) UpdateObligations(ctx context.Context, keys []store.ObligationKey, fn func(policy.Obligation) (policy.Obligation, error)) error {
	const op = "update obligations"
	if err := s.check(op); err != nil {
		return err
	}
	keys = index.UniqueKeys(keys)
	for start := 0; start < len(keys); start += index.UpdateBatch {
		if err := s.updateBatch(ctx, keys[start:min(start+index.UpdateBatch, len(keys))], fn); err != nil {
			return err
		}
	}
	return nil
}

// updateBatch is one batch of UpdateObligations.
func (s *Store) updateBatch(ctx context.Context, batch []store.ObligationKey, fn func(policy.Obligation) (policy.Obligation, error)) error {
	const op = "update obligations"
	fields := make([]string, 0, len(batch))
	for _, k := range batch {
		fields = append(fields, string(index.ObligationKey(k.NoticeID, k.Version, k.UserID)))
	}
	pending := batch
	if len(pending) == 0 {
		return nil
	}
	return retryCAS(ctx, op, func() (bool, error) {
		values, err := s.client.HMGet(ctx, s.k.obl, fields...).Result()
		if err != nil {
			return false, s.wrap(op, err)
		}
		keys := []string{s.k.obl, s.k.oblStatus, s.k.oblDueFor}
		keyAt := map[string]int{} // count hash or due index → its position in KEYS (1-based)
		sched := s.due.Load()
		var args []any
		var written []store.ObligationKey // in ARGV's order
		var writtenFields []string
		for i, v := range values {
			cur, ok := v.(string)
			if !ok {
				continue // none, or gone since it was first read
			}
			k := pending[i]
			var old policy.Obligation
			if err := json.Unmarshal([]byte(cur), &old); err != nil {
				return false, fmt.Errorf("redis: %s: decode: %w", obligationOp("update", k.UserID, k.NoticeID, k.Version), err)
			}
			o, err := fn(old)
			if err == nil {
				err = index.CheckUpdate(old, o)
			}
			if err != nil {
				return false, fmt.Errorf("redis: %s: %w", obligationOp("update", k.UserID, k.NoticeID, k.Version), err)
			}
			next, err := json.Marshal(o)
			if err != nil {
				return false, fmt.Errorf("redis: %s: %w", obligationOp("update", k.UserID, k.NoticeID, k.Version), err)
			}
			if string(next) == cur {
				continue
			}
			oldMember, newMember := "", ""
			if old.Status != o.Status {
				oldMember, newMember = statusMember(string(old.Status), fields[i]), statusMember(string(o.Status), fields[i])
			}
			args = append(args, fields[i], cur, next, keyIndex(&keys, keyAt, s.k.oblCount(o.NoticeID, o.Version)),
				string(old.Status), string(o.Status), oldMember, newMember, keyIndex(&keys, keyAt, s.k.oblDue(o.NoticeID, o.Version)))
			args = append(args, dueArgs(sched, &old, &o)...)
			written = append(written, k)
			writtenFields = append(writtenFields, fields[i])
		}
		if len(written) == 0 {
			return true, nil
		}
		res, err := s.pipe.run(ctx, updateObligationsScript, keys, args...)
		if err != nil {
			return false, s.wrap(op, err)
		}
		skipped, ok := res.([]any)
		if !ok {
			return false, fmt.Errorf("redis: %s: unexpected reply %T", op, res)
		}
		pending, fields = pending[:0:0], fields[:0:0]
		for _, x := range skipped {
			n, ok := x.(int64)
			if !ok || n == 0 || int(max(n, -n)) > len(written) {
				return false, fmt.Errorf("redis: %s: unexpected reply item %v", op, x)
			}
			if n > 0 { // changed since read: again; gone: skipped
				pending = append(pending, written[n-1])
				fields = append(fields, writtenFields[n-1])
			}
		}
		return len(pending) == 0, nil
	})
}

// GetObligation returns one obligation, or store.ErrNotFound.
func (s *Store) GetObligation(ctx context.Context, userID, noticeID string, version int) (policy.Obligation, error) {
	op := obligationOp("get", userID, noticeID, version)
	if err := s.check(op); err != nil {
		return policy.Obligation{}, err
	}
	var o policy.Obligation
	if err := s.getJSON(ctx, op, s.k.obl, string(index.ObligationKey(noticeID, version, userID)), &o); err != nil {
		return policy.Obligation{}, err
	}
	return o, nil
}

// hget is HGET sent in the pipeliner's next batch: goredis.Nil if the
// field is not there.
func (s *Store) hget(ctx context.Context, key, field string) (string, error) {
	res, err := s.pipe.do(ctx, "hget", key, field)
	if err != nil {
		return "", err
	}
	v, ok := res.(string)
	if !ok {
		return "", fmt.Errorf("HGET %s: unexpected reply %T", field, res)
	}
	return v, nil
}

// getJSON decodes a hash field's JSON into v, or returns ErrNotFound.
func (s *Store) getJSON(ctx context.Context, op, key, field string, v any) error {
	raw, err := s.hget(ctx, key, field)
	switch {
	case errors.Is(err, goredis.Nil):
		return fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return s.wrap(op, err)
	}
	if err := json.Unmarshal([]byte(raw), v); err != nil {
		return fmt.Errorf("redis: %s: decode: %w", op, err)
	}
	return nil
}

// ListObligations returns a page of matching obligations in (NoticeID,
// Version, UserID) order, from the sorted set that serves f (see
// index.ObligationScan); see store.Obligations.
func (s *Store) ListObligations(ctx context.Context, f store.ObligationFilter, p store.Page) ([]policy.Obligation, string, error) {
	if err := s.check("list obligations"); err != nil {
		return nil, "", err
	}
	sc, err := index.ObligationScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("redis: list obligations: %w", err)
	}
	zkey := map[index.Index]string{index.Primary: s.k.oblIdx, index.ByUser: s.k.oblUser, index.ByStatus: s.k.oblStatus}[sc.Index]
	items, next, err := listLex(ctx, s, zkey, s.k.obl, sc, func(v string) (policy.Obligation, bool, error) {
		var o policy.Obligation
		if err := json.Unmarshal([]byte(v), &o); err != nil {
			return o, false, fmt.Errorf("decode obligation: %w", err)
		}
		return o, index.MatchObligation(f, o), nil
	})
	if err != nil {
		return nil, "", s.wrap("list obligations", err)
	}
	return items, next, nil
}

// CountObligations counts a notice version's obligations by status from
// its counters (one small hash); see store.Obligations.
func (s *Store) CountObligations(ctx context.Context, noticeID string, version int) (map[policy.ObligationStatus]int, error) {
	op := "count obligations of " + noticeID + " v" + strconv.Itoa(version)
	if err := s.check(op); err != nil {
		return nil, err
	}
	raw, err := s.client.HGetAll(ctx, s.k.oblCount(noticeID, version)).Result()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	out := make(map[policy.ObligationStatus]int, len(raw))
	for status, v := range raw {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("redis: %s: malformed counter of %s", op, status)
		}
		if n > 0 {
			out[policy.ObligationStatus(status)] = n
		}
	}
	return out, nil
}

// --- attestations ---

func attestationOp(verb, userID, noticeID string, version int) string {
	return verb + " attestation (" + userID + ", " + noticeID + ", " + strconv.Itoa(version) + ")"
}

// Attest stores a unless the person's attestation of the version and
// round exists and, in the same script, acknowledges the obligation if it
// is open and in a's round; see store.Attestations. The obligation is
// read first and written only if it is still as read (else both are
// tried again), so the attestation and the acknowledgement are one step.
// a.Channel must be card or reply (it gives the obligation's
// ClosedReason).
func (s *Store) Attest(ctx context.Context, a policy.Attestation) (bool, error) {
	op := attestationOp("store", a.UserID, a.NoticeID, a.Version) + " of round " + strconv.Itoa(a.Round)
	if err := s.check(op); err != nil {
		return false, err
	}
	if err := index.CheckAttestation(a); err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	v, err := json.Marshal(a)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	key := string(index.AttestationKeyOf(a))
	oblKey := string(index.ObligationKey(a.NoticeID, a.Version, a.UserID))
	keys := []string{s.k.att, s.k.attIdx, s.k.attUser, s.k.obl, s.k.oblStatus, s.k.oblCount(a.NoticeID, a.Version),
		s.k.oblDue(a.NoticeID, a.Version), s.k.oblDueFor}
	userMember := string(index.Entry(a.UserID, []byte(key)))
	var stored bool
	err = retryCAS(ctx, op, func() (bool, error) {
		var exists *goredis.BoolCmd
		var cur *goredis.StringCmd
		_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			exists = p.HExists(ctx, s.k.att, key)
			cur = p.HGet(ctx, s.k.obl, oblKey)
			return nil
		})
		if err != nil && !errors.Is(err, goredis.Nil) {
			return false, s.wrap(op, err)
		}
		if exists.Val() {
			return true, nil
		}
		had, read := "0", ""
		var next []byte
		var oldStatus, newStatus string
		due := dueArgs(nil, nil, nil)
		if raw, err := cur.Result(); err == nil {
			had, read = "1", raw
			var old policy.Obligation
			if err := json.Unmarshal([]byte(raw), &old); err != nil {
				return false, fmt.Errorf("redis: %s: decode obligation: %w", op, err)
			}
			if o, open := index.Acknowledge(old, a); open {
				if next, err = json.Marshal(o); err != nil {
					return false, fmt.Errorf("redis: %s: %w", op, err)
				}
				oldStatus, newStatus = string(old.Status), string(o.Status)
				due = dueArgs(s.due.Load(), &old, &o)
			}
		}
		args := append([]any{key, v, userMember, oblKey, read, had, next,
			statusMember(oldStatus, oblKey), statusMember(newStatus, oblKey), oldStatus, newStatus}, due...)
		res, err := s.pipe.run(ctx, attestScript, keys, args...)
		if err != nil {
			return false, s.wrap(op, err)
		}
		switch res {
		case int64(1):
			stored = true
			return true, nil
		case int64(0):
			return true, nil
		}
		return false, nil
	})
	return stored, err
}

// GetAttestation returns a person's attestation of a notice version in
// the latest round, or store.ErrNotFound, in one script (see
// latestAttestationScript).
func (s *Store) GetAttestation(ctx context.Context, userID, noticeID string, version int) (policy.Attestation, error) {
	op := attestationOp("get", userID, noticeID, version)
	if err := s.check(op); err != nil {
		return policy.Attestation{}, err
	}
	prefix := index.ObligationKey(noticeID, version, userID)
	raw, err := latestAttestationScript.Run(ctx, s.client, []string{s.k.att, s.k.attIdx},
		"("+string(index.Successor(prefix)), "["+string(prefix)).Text()
	switch {
	case errors.Is(err, goredis.Nil):
		return policy.Attestation{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return policy.Attestation{}, s.wrap(op, err)
	}
	var a policy.Attestation
	if err := json.Unmarshal([]byte(raw), &a); err != nil {
		return policy.Attestation{}, fmt.Errorf("redis: %s: decode: %w", op, err)
	}
	return a, nil
}

// ListAttestations returns a page of matching attestations in (NoticeID,
// Version, UserID, Round) order; see store.Attestations.
func (s *Store) ListAttestations(ctx context.Context, f store.AttestationFilter, p store.Page) ([]policy.Attestation, string, error) {
	if err := s.check("list attestations"); err != nil {
		return nil, "", err
	}
	sc, err := index.AttestationScan(f, p)
	if err != nil {
		return nil, "", fmt.Errorf("redis: list attestations: %w", err)
	}
	zkey := s.k.attIdx
	if sc.Index == index.ByUser {
		zkey = s.k.attUser
	}
	items, next, err := listLex(ctx, s, zkey, s.k.att, sc, func(v string) (policy.Attestation, bool, error) {
		var a policy.Attestation
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			return a, false, fmt.Errorf("decode attestation: %w", err)
		}
		return a, index.MatchAttestation(f, a), nil
	})
	if err != nil {
		return nil, "", s.wrap("list attestations", err)
	}
	return items, next, nil
}
