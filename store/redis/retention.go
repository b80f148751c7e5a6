package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// Legal holds are one hash (besides the keys listed in redis.go):
//
//	…:hold   hash  hold id → Hold JSON
func (k keys) holds() string { return k.prefix + "hold" }

// PutHold stores h unless its ID exists (HSETNX); see store.Holds.
func (s *Store) PutHold(ctx context.Context, h store.Hold) (bool, error) {
	op := "put hold " + h.ID
	if err := s.check(op); err != nil {
		return false, err
	}
	if err := store.CheckHold(h); err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	h.CreatedAt, h.ExpiresAt = h.CreatedAt.UTC(), h.ExpiresAt.UTC()
	v, err := json.Marshal(h)
	if err != nil {
		return false, fmt.Errorf("redis: %s: %w", op, err)
	}
	created, err := s.client.HSetNX(ctx, s.k.holds(), h.ID, v).Result()
	if err != nil {
		return false, s.wrap(op, err)
	}
	return created, nil
}

// GetHold returns one hold, or store.ErrNotFound.
func (s *Store) GetHold(ctx context.Context, id string) (store.Hold, error) {
	op := "get hold " + id
	if err := s.check(op); err != nil {
		return store.Hold{}, err
	}
	var h store.Hold
	if err := s.getJSON(ctx, op, s.k.holds(), id, &h); err != nil {
		return store.Hold{}, err
	}
	return h, nil
}

// ListHolds returns every hold in ID order; see store.Holds. Holds are
// few, so one HGETALL reads them.
func (s *Store) ListHolds(ctx context.Context) ([]store.Hold, error) {
	if err := s.check("list holds"); err != nil {
		return nil, err
	}
	all, err := s.client.HGetAll(ctx, s.k.holds()).Result()
	if err != nil {
		return nil, s.wrap("list holds", err)
	}
	out := make([]store.Hold, 0, len(all))
	for id, v := range all {
		var h store.Hold
		if err := json.Unmarshal([]byte(v), &h); err != nil {
			return nil, fmt.Errorf("redis: list holds: decode hold %s: %w", id, err)
		}
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b store.Hold) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// deleteHoldScript removes a hold and returns it. KEYS: hold hash.
// ARGV: id. Returns the JSON, or false if there is none.
var deleteHoldScript = goredis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('HDEL', KEYS[1], ARGV[1]) end
return v
`)

// DeleteHold releases a hold; see store.Holds.
func (s *Store) DeleteHold(ctx context.Context, id string) (store.Hold, error) {
	op := "delete hold " + id
	if err := s.check(op); err != nil {
		return store.Hold{}, err
	}
	v, err := deleteHoldScript.Run(ctx, s.client, []string{s.k.holds()}, id).Text()
	switch {
	case errors.Is(err, goredis.Nil):
		return store.Hold{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return store.Hold{}, s.wrap(op, err)
	}
	var h store.Hold
	if err := json.Unmarshal([]byte(v), &h); err != nil {
		return store.Hold{}, fmt.Errorf("redis: %s: decode: %w", op, err)
	}
	return h, nil
}

// purgeLogScript deletes event-log entries that are still as read.
// KEYS: log hash, log:all, then the log:kind zsets of the batch. ARGV: per
// entry four values: dedup key, zset member, the KEYS index of its kind
// zset (0: none), its JSON as read. Returns how many were deleted.
var purgeLogScript = goredis.NewScript(`
local n = 0
for i = 1, #ARGV, 4 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i+3] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i+1])
    local k = tonumber(ARGV[i+2])
    if k > 0 then redis.call('ZREM', KEYS[k], ARGV[i+1]) end
    n = n + 1
  end
end
return n
`)

// purgeRecordScript deletes records that are still as read, with their
// index members. KEYS: the record hash, its primary index zset, a second
// index zset, and optionally a hash to HDEL the key from too (consent
// status). ARGV: per record three values: key, JSON as read, the member
// of the second index. Returns how many were deleted.
var purgeRecordScript = goredis.NewScript(`
local n = 0
for i = 1, #ARGV, 3 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i+1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[3], ARGV[i+2])
    if KEYS[4] then redis.call('HDEL', KEYS[4], ARGV[i]) end
    n = n + 1
  end
end
return n
`)

// Purge deletes one batch of records past retention; see
// store.Retention. The batch is read with plain commands and deleted by
// one script that deletes only records still exactly as read (compare
// and delete), so a record changed in between stays for the next run and
// Redis is never held for more than one batch.
func (s *Store) Purge(ctx context.Context, b store.PurgeBatch) (store.PurgeResult, error) {
	op := "purge " + string(b.Kind)
	if err := s.check(op); err != nil {
		return store.PurgeResult{}, err
	}
	if err := purge.Check(b); err != nil {
		return store.PurgeResult{}, fmt.Errorf("redis: %w", err)
	}
	after, err := purge.ParseCursor(b.Kind, b.Cursor)
	if err != nil {
		return store.PurgeResult{}, fmt.Errorf("redis: %s: %w", op, err)
	}
	limit := store.Page{Limit: b.Limit}.Size()
	var res store.PurgeResult
	switch b.Kind {
	case store.RecordEventLog:
		res, err = s.purgeEventLog(ctx, b, after, limit)
	case store.RecordAttestations:
		res, err = s.purgeRecords(ctx, b.Kind, after, limit, []string{s.k.att, s.k.attIdx, s.k.attUser},
			func(key, v string) (purge.Verdict, string, error) {
				var a policy.Attestation
				if err := json.Unmarshal([]byte(v), &a); err != nil {
					return 0, "", fmt.Errorf("decode attestation: %w", err)
				}
				return purge.Attestation(a, b), string(index.Entry(a.UserID, []byte(key))), nil
			})
	case store.RecordConsents:
		res, err = s.purgeRecords(ctx, b.Kind, after, limit, []string{s.k.consent, s.k.consentIdx, s.k.consentByStatus, s.k.consentStatus},
			func(key, v string) (purge.Verdict, string, error) {
				var c policy.Consent
				if err := json.Unmarshal([]byte(v), &c); err != nil {
					return 0, "", fmt.Errorf("decode consent: %w", err)
				}
				return purge.Consent(c, b), statusMember(string(c.Status), key), nil
			})
	case store.RecordDeadLetters:
		res, err = s.purgeDeadLetters(ctx, b, after, limit)
	case store.RecordObligations:
		res, err = s.purgeObligations(ctx, b, after, limit)
	case store.RecordSendResults:
		res, err = s.purgeSendResults(ctx, b, after, limit)
	case store.RecordRecipientClaims:
		res, err = s.purgeClaims(ctx, b, after, limit)
	}
	if err != nil {
		return store.PurgeResult{}, s.wrap(op, err)
	}
	return res, nil
}

// lexBatch reads the next batch of a purge that walks the primary index
// zset idx (BYLEX, after the cursor key) of the records of hash hkey:
// up to limit members, their values (nil: gone since the index was
// read), and the next cursor ("" at the end).
func (s *Store) lexBatch(ctx context.Context, kind store.RecordKind, after []byte, limit int, hkey, idx string) (members []string, values []any, next string, err error) {
	from := "-"
	if after != nil {
		from = "(" + string(after)
	}
	members, err = s.client.ZRangeArgs(ctx, goredis.ZRangeArgs{
		Key: idx, Start: from, Stop: "+", ByLex: true, Count: int64(limit + 1),
	}).Result()
	if err != nil || len(members) == 0 {
		return nil, nil, "", err
	}
	if len(members) > limit {
		members = members[:limit]
		next = purge.Cursor(kind, []byte(members[limit-1]))
	}
	values, err = s.client.HMGet(ctx, hkey, members...).Result()
	if err != nil {
		return nil, nil, "", err
	}
	return members, values, next, nil
}

// purgeRecords examines up to limit records in the order of the primary
// index zset keys[1] (BYLEX, after the cursor key); decide says what to
// do with one and names its member in the second index keys[2].
func (s *Store) purgeRecords(ctx context.Context, kind store.RecordKind, after []byte, limit int, keys []string, decide func(key, v string) (purge.Verdict, string, error)) (store.PurgeResult, error) {
	members, values, next, err := s.lexBatch(ctx, kind, after, limit, keys[0], keys[1])
	if err != nil || len(members) == 0 {
		return store.PurgeResult{}, err
	}
	res := store.PurgeResult{Next: next}
	var args []any
	for i, v := range values {
		str, ok := v.(string)
		if !ok {
			continue // removed since the index was read
		}
		d, member, err := decide(members[i], str)
		if err != nil {
			return store.PurgeResult{}, err
		}
		switch d {
		case purge.Held:
			res.Held++
		case purge.Delete:
			args = append(args, members[i], str, member)
		}
	}
	if len(args) > 0 {
		n, err := purgeRecordScript.Run(ctx, s.client, keys, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		res.Purged = n
	}
	return res, nil
}

// purgeObligationsScript deletes closed obligations that are still as
// read, with their index members (the due index's too) and counts.
// KEYS: obl hash, obl:idx, obl:user, obl:status, obl:duefor, then the
// obl:count hash and the due index of every notice version of the
// batch. ARGV: per obligation twelve values: key, JSON as read, user
// member, status member, the index in KEYS of its count hash, status,
// the index in KEYS of its due index, then dueArgs' five.
// Returns how many were deleted.
var purgeObligationsScript = goredis.NewScript(luaKeepDue + `
local n = 0
for i = 1, #ARGV, 12 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i+1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[3], ARGV[i+2])
    redis.call('ZREM', KEYS[4], ARGV[i+3])
    local counts = KEYS[tonumber(ARGV[i+4])]
    if redis.call('HINCRBY', counts, ARGV[i+5], -1) <= 0 then
      redis.call('HDEL', counts, ARGV[i+5])
    end
    keep_due(KEYS[tonumber(ARGV[i+6])], KEYS[5], ARGV[i+7], ARGV[i+8], ARGV[i+9], ARGV[i+10], ARGV[i+11])
    n = n + 1
  end
end
return n
`)

// purgeObligations walks obl:idx like purgeRecords, and deletes closed
// obligations past retention from every index and their counts.
func (s *Store) purgeObligations(ctx context.Context, b store.PurgeBatch, after []byte, limit int) (store.PurgeResult, error) {
	members, values, next, err := s.lexBatch(ctx, b.Kind, after, limit, s.k.obl, s.k.oblIdx)
	if err != nil || len(members) == 0 {
		return store.PurgeResult{}, err
	}
	res := store.PurgeResult{Next: next}
	keys := []string{s.k.obl, s.k.oblIdx, s.k.oblUser, s.k.oblStatus, s.k.oblDueFor}
	keyAt := map[string]int{} // count hash or due index → its position in KEYS (1-based)
	sched := s.due.Load()
	var args []any
	for i, v := range values {
		raw, ok := v.(string)
		if !ok {
			continue // removed since the index was read
		}
		var o policy.Obligation
		if err := json.Unmarshal([]byte(raw), &o); err != nil {
			return store.PurgeResult{}, fmt.Errorf("decode obligation: %w", err)
		}
		switch purge.Obligation(o, b) {
		case purge.Held:
			res.Held++
			continue
		case purge.Keep:
			continue
		}
		key := members[i]
		args = append(args, key, raw, string(index.Entry(o.UserID, []byte(key))), statusMember(string(o.Status), key),
			keyIndex(&keys, keyAt, s.k.oblCount(o.NoticeID, o.Version)), string(o.Status),
			keyIndex(&keys, keyAt, s.k.oblDue(o.NoticeID, o.Version)))
		args = append(args, dueArgs(sched, &o, nil)...)
	}
	if len(args) > 0 {
		n, err := purgeObligationsScript.Run(ctx, s.client, keys, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		res.Purged = n
	}
	return res, nil
}

// purgeResultsScript deletes send results that are still as read, with
// their resultsat members. KEYS: resultsat, then the results hash of
// every notice of the batch. ARGV: per result four values: the index in
// KEYS of its hash, user id, resultsat member, JSON as read ("" for a
// member whose result was gone: the member alone is removed if the
// result is still gone). Returns how many results were deleted.
var purgeResultsScript = goredis.NewScript(`
local n = 0
for i = 1, #ARGV, 4 do
  local h = KEYS[tonumber(ARGV[i])]
  local v = redis.call('HGET', h, ARGV[i+1])
  if ARGV[i+3] == '' then
    if not v then redis.call('ZREM', KEYS[1], ARGV[i+2]) end
  elseif v == ARGV[i+3] then
    redis.call('HDEL', h, ARGV[i+1])
    redis.call('ZREM', KEYS[1], ARGV[i+2])
    n = n + 1
  end
end
return n
`)

// purgeSendResults walks resultsat by score (At µs) from the oldest up
// to Before, so that a run examines only results past retention (and
// those kept for a hold). The cursor is an offset into that range: the
// number of results examined and left in it by the batches before (held
// ones). A result deleted from the range in between by someone else (or
// rewritten, which moves it out) makes the next batch skip as many: they
// are left for the next run, never deleted unexamined.
func (s *Store) purgeSendResults(ctx context.Context, b store.PurgeBatch, after []byte, limit int) (store.PurgeResult, error) {
	zs, offset, more, err := s.pastRetention(ctx, s.k.resultsAt, b.Before, after, limit)
	if err != nil || len(zs) == 0 {
		return store.PurgeResult{}, err
	}
	members := make([]string, len(zs))
	for i, z := range zs {
		members[i] = z.Member.(string)
	}
	type ref struct{ notice, user string }
	refs := make([]ref, len(members))
	cmds := make([]*goredis.StringCmd, len(members))
	_, err = s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, m := range members {
			notice, user, ok := parseResultMember(m)
			if !ok {
				return fmt.Errorf("malformed resultsat member %q", m)
			}
			refs[i] = ref{notice, user}
			cmds[i] = p.HGet(ctx, s.k.results(notice), user)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return store.PurgeResult{}, err
	}
	var res store.PurgeResult
	keys := []string{s.k.resultsAt}
	hashAt := map[string]int{} // results hash → its position in KEYS (1-based)
	var args []any
	for i, cmd := range cmds {
		raw, err := cmd.Result()
		switch {
		case errors.Is(err, goredis.Nil):
			raw = "" // an orphan member: removed below
		case err != nil:
			return store.PurgeResult{}, err
		default:
			var r store.RecipientResult
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				return store.PurgeResult{}, fmt.Errorf("decode send result of %s for %s: %w", refs[i].notice, refs[i].user, err)
			}
			switch purge.SendResult(r, b) {
			case purge.Held:
				res.Held++
				continue
			case purge.Keep:
				continue
			}
		}
		h := s.k.results(refs[i].notice)
		at, ok := hashAt[h]
		if !ok {
			keys = append(keys, h)
			at = len(keys)
			hashAt[h] = at
		}
		args = append(args, at, refs[i].user, members[i], raw)
	}
	if len(args) > 0 {
		n, err := purgeResultsScript.Run(ctx, s.client, keys, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		res.Purged = n
	}
	if more {
		res.Next = purge.Cursor(b.Kind, []byte(strconv.Itoa(offset+len(members)-len(args)/4)))
	}
	return res, nil
}

// purgeEventLog walks log:all from the oldest entry (or after the
// cursor, "µs member") up to Before.
func (s *Store) purgeEventLog(ctx context.Context, b store.PurgeBatch, after []byte, limit int) (store.PurgeResult, error) {
	before := b.Before.UnixMicro()
	from, afterMember := "-inf", ""
	if after != nil {
		score, member, ok := strings.Cut(string(after), " ")
		if _, err := strconv.ParseInt(score, 10, 64); !ok || err != nil {
			return store.PurgeResult{}, store.ErrInvalidCursor
		}
		from, afterMember = score, member
	}
	// Entries with the cursor's score up to its member were examined (and
	// kept) already: skip them. Scores are µs, so they are few.
	var entries []goredis.Z
	for offset := int64(0); ; {
		zs, err := s.client.ZRangeArgsWithScores(ctx, goredis.ZRangeArgs{
			Key: s.k.logAll, Start: from, Stop: "(" + strconv.FormatInt(before, 10),
			ByScore: true, Offset: offset, Count: int64(limit + 1),
		}).Result()
		if err != nil {
			return store.PurgeResult{}, err
		}
		for _, z := range zs {
			if afterMember != "" && strconv.FormatInt(int64(z.Score), 10) == from && z.Member.(string) <= afterMember {
				continue
			}
			entries = append(entries, z)
		}
		if len(entries) > 0 || len(zs) <= limit {
			break
		}
		offset += int64(len(zs))
	}
	if len(entries) == 0 {
		return store.PurgeResult{}, nil
	}
	var res store.PurgeResult
	if len(entries) > limit {
		entries = entries[:limit]
	}
	if len(entries) == limit {
		last := entries[limit-1]
		res.Next = purge.Cursor(b.Kind, []byte(strconv.FormatInt(int64(last.Score), 10)+" "+last.Member.(string)))
	}
	dedups := make([]string, len(entries))
	for i, z := range entries {
		m := z.Member.(string)
		if len(m) < logSeqWidth {
			return store.PurgeResult{}, fmt.Errorf("malformed log member %q", m)
		}
		dedups[i] = m[logSeqWidth:]
	}
	values, err := s.client.HMGet(ctx, s.k.log, dedups...).Result()
	if err != nil {
		return store.PurgeResult{}, err
	}
	keys := []string{s.k.log, s.k.logAll}
	kindIndex := map[string]int{}
	var args []any
	for i, v := range values {
		raw, ok := v.(string)
		if !ok {
			continue
		}
		var e store.LogEntry
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			return store.PurgeResult{}, fmt.Errorf("decode log entry %q: %w", dedups[i], err)
		}
		switch purge.LogEntry(e, b) {
		case purge.Held:
			res.Held++
			continue
		case purge.Keep:
			continue
		}
		ki := 0
		if e.Kind != "" {
			if ki = kindIndex[e.Kind]; ki == 0 {
				keys = append(keys, s.k.logKind(e.Kind))
				ki = len(keys) // Lua's KEYS are 1-based
				kindIndex[e.Kind] = ki
			}
		}
		args = append(args, dedups[i], entries[i].Member, ki, raw)
	}
	if len(args) > 0 {
		n, err := purgeLogScript.Run(ctx, s.client, keys, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		res.Purged = n
	}
	return res, nil
}
