package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// deadIndex is the hash that finds a dead letter in the dead stream by the
// id its entry had (kill in luaCommon writes it).
func (k keys) deadIndex() string { return k.prefix + "deadidx" }

// deadLetter decodes a message of the dead stream.
func deadLetter(id string, values map[string]any) (store.DeadLetter, error) {
	f := stringValues(values)
	e, err := fieldsEvent(f)
	if err != nil {
		return store.DeadLetter{}, fmt.Errorf("dead letter %s: %w", id, err)
	}
	attempts, _ := strconv.Atoi(f["attempts"])
	diedMS, _ := strconv.ParseInt(f["died_at"], 10, 64)
	return store.DeadLetter{
		ID:        f["id"],
		Event:     e,
		Attempts:  attempts,
		LastError: f["last_error"],
		DiedAt:    time.UnixMilli(diedMS).UTC(),
	}, nil
}

// ListDeadLetters returns dead letters in the order they died (the dead
// stream's order), a page at a time; see store.Queue. The cursor is the
// dead stream id of the page's last letter.
func (s *Store) ListDeadLetters(ctx context.Context, p store.Page) ([]store.DeadLetter, string, error) {
	if err := s.check("list dead letters"); err != nil {
		return nil, "", err
	}
	after, err := purge.ParseCursor(store.RecordDeadLetters, p.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("redis: list dead letters: %w", err)
	}
	from := "-"
	if after != nil {
		from = "(" + string(after)
	}
	limit := p.Size()
	msgs, err := s.client.XRangeN(ctx, s.k.dead, from, "+", int64(limit+1)).Result()
	if err != nil {
		return nil, "", s.wrap("list dead letters", err)
	}
	var next string
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = purge.Cursor(store.RecordDeadLetters, []byte(msgs[limit-1].ID))
	}
	out := make([]store.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d, err := deadLetter(m.ID, m.Values)
		if err != nil {
			return nil, "", s.wrap("list dead letters", err)
		}
		out = append(out, d)
	}
	return out, next, nil
}

// GetDeadLetter returns one dead letter; see store.Queue.
func (s *Store) GetDeadLetter(ctx context.Context, id string) (store.DeadLetter, error) {
	op := "get dead letter " + id
	if err := s.check(op); err != nil {
		return store.DeadLetter{}, err
	}
	sid, err := s.client.HGet(ctx, s.k.deadIndex(), id).Result()
	switch {
	case errors.Is(err, goredis.Nil):
		return store.DeadLetter{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return store.DeadLetter{}, s.wrap(op, err)
	}
	msgs, err := s.client.XRange(ctx, s.k.dead, sid, sid).Result()
	if err != nil {
		return store.DeadLetter{}, s.wrap(op, err)
	}
	if len(msgs) == 0 { // retried or dropped in between
		return store.DeadLetter{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	}
	d, err := deadLetter(sid, msgs[0].Values)
	if err != nil {
		return store.DeadLetter{}, s.wrap(op, err)
	}
	return d, nil
}

// luaTakeDead removes a dead letter from the dead stream and its index.
// KEYS[1] dead stream, KEYS[2] dead index. take(id) returns its fields
// ({field, value, …}), or nil if there is none.
const luaTakeDead = `
local function take(id)
  local sid = redis.call('HGET', KEYS[2], id)
  if not sid then return nil end
  redis.call('HDEL', KEYS[2], id)
  local r = redis.call('XRANGE', KEYS[1], sid, sid)
  if #r == 0 then return nil end
  redis.call('XDEL', KEYS[1], sid)
  return r[1][2]
end
`

// retryDeadScript queues a dead letter again as a new entry of the events
// stream, with the event's fields only (no attempts, no error, no
// not-before), without looking at its dedup key. KEYS: dead stream, dead
// index, events stream. ARGV: id. Returns the new entry's id, or nil if
// id is not a dead letter.
var retryDeadScript = goredis.NewScript(luaTakeDead + `
local f = take(ARGV[1])
if not f then return false end
local keep = {dedup = true, kind = true, receiver = true, received_at = true, payload = true}
local e = {}
for i = 1, #f, 2 do
  if keep[f[i]] then
    e[#e + 1] = f[i]
    e[#e + 1] = f[i + 1]
  end
end
return redis.call('XADD', KEYS[3], '*', unpack(e))
`)

// dropDeadScript deletes a dead letter. KEYS: dead stream, dead index.
// ARGV: id. Returns its fields, or nil if there is none.
var dropDeadScript = goredis.NewScript(luaTakeDead + `
return take(ARGV[1]) or false
`)

// RetryDeadLetter queues a dead letter again, in one script; see
// store.Queue.
func (s *Store) RetryDeadLetter(ctx context.Context, id string) (string, error) {
	op := "retry dead letter " + id
	if err := s.check(op); err != nil {
		return "", err
	}
	entryID, err := retryDeadScript.Run(ctx, s.client, []string{s.k.dead, s.k.deadIndex(), s.k.events}, id).Text()
	switch {
	case errors.Is(err, goredis.Nil):
		return "", fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return "", s.wrap(op, err)
	}
	return entryID, nil
}

// DropDeadLetter deletes a dead letter, in one script; see store.Queue.
func (s *Store) DropDeadLetter(ctx context.Context, id string) (store.DeadLetter, error) {
	op := "drop dead letter " + id
	if err := s.check(op); err != nil {
		return store.DeadLetter{}, err
	}
	flat, err := dropDeadScript.Run(ctx, s.client, []string{s.k.dead, s.k.deadIndex()}, id).StringSlice()
	switch {
	case errors.Is(err, goredis.Nil):
		return store.DeadLetter{}, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
	case err != nil:
		return store.DeadLetter{}, s.wrap(op, err)
	}
	values := make(map[string]any, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		values[flat[i]] = flat[i+1]
	}
	d, err := deadLetter(id, values)
	if err != nil {
		return store.DeadLetter{}, s.wrap(op, err)
	}
	return d, nil
}

// purgeDeadScript deletes dead letters unless one of the dead stream died
// at or after the cutoff (store.RecordDeadLetters): the check and the
// deletion are one step, so a letter that dies meanwhile keeps the
// others. KEYS: dead stream, dead index. ARGV: the cutoff in ms, rounded
// up, then per dead letter its stream id and entry id. Returns how many
// were deleted, or -1 if one died at or after the cutoff.
var purgeDeadScript = goredis.NewScript(`
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last > 0 then
  local f = last[1][2]
  for i = 1, #f, 2 do
    if f[i] == 'died_at' and tonumber(f[i + 1]) >= tonumber(ARGV[1]) then return -1 end
  end
end
local n = 0
for i = 2, #ARGV, 2 do
  if redis.call('XDEL', KEYS[1], ARGV[i]) == 1 then
    n = n + 1
    if redis.call('HGET', KEYS[2], ARGV[i + 1]) == ARGV[i] then redis.call('HDEL', KEYS[2], ARGV[i + 1]) end
  end
end
return n
`)

// youngDeadLetter reports whether the dead letter that died last died at
// or after before: then no dead letter is purged.
func (s *Store) youngDeadLetter(ctx context.Context, before time.Time) (bool, error) {
	last, err := s.client.XRevRangeN(ctx, s.k.dead, "+", "-", 1).Result()
	if err != nil || len(last) == 0 {
		return false, err
	}
	diedMS, err := strconv.ParseInt(stringValues(last[0].Values)["died_at"], 10, 64)
	if err != nil {
		return false, fmt.Errorf("dead letter %s: died_at: %w", last[0].ID, err)
	}
	return diedMS >= ceilUnixMS(before), nil
}

// purgeDeadLetters walks the dead stream in order of death (stream ids,
// after the cursor id) and deletes with purgeDeadScript, which deletes
// nothing while a dead letter is within retention (then the purge ends).
// A dead letter never changes, so there is nothing else to compare
// before deleting.
func (s *Store) purgeDeadLetters(ctx context.Context, b store.PurgeBatch, after []byte, limit int) (store.PurgeResult, error) {
	if young, err := s.youngDeadLetter(ctx, b.Before); err != nil || young {
		return store.PurgeResult{}, err
	}
	from := "-"
	if after != nil {
		from = "(" + string(after)
	}
	msgs, err := s.client.XRangeN(ctx, s.k.dead, from, "+", int64(limit+1)).Result()
	if err != nil || len(msgs) == 0 {
		return store.PurgeResult{}, err
	}
	var res store.PurgeResult
	if len(msgs) > limit {
		msgs = msgs[:limit]
		res.Next = purge.Cursor(b.Kind, []byte(msgs[limit-1].ID))
	}
	args := []any{ceilUnixMS(b.Before)}
	for _, m := range msgs {
		f := stringValues(m.Values)
		diedMS, err := strconv.ParseInt(f["died_at"], 10, 64)
		if err != nil {
			return store.PurgeResult{}, fmt.Errorf("dead letter %s: died_at %q: %w", m.ID, f["died_at"], err)
		}
		switch purge.DeadLetter(time.UnixMilli(diedMS), []byte(f["payload"]), b) {
		case purge.Held:
			res.Held++
		case purge.Delete:
			args = append(args, m.ID, f["id"])
		}
	}
	if len(args) > 1 {
		n, err := purgeDeadScript.Run(ctx, s.client, []string{s.k.dead, s.k.deadIndex()}, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		if n < 0 {
			return store.PurgeResult{}, nil // one died meanwhile: all stay
		}
		res.Purged = n
	}
	return res, nil
}

// indexDeadScript indexes dead letters still in the dead stream, unless
// indexed already. KEYS: dead stream, dead index. ARGV: per letter its
// stream id and entry id.
var indexDeadScript = goredis.NewScript(`
for i = 1, #ARGV, 2 do
  if #redis.call('XRANGE', KEYS[1], ARGV[i], ARGV[i]) > 0 then
    redis.call('HSETNX', KEYS[2], ARGV[i + 1], ARGV[i])
  end
end
return 1
`)

// indexDeadLetters indexes in deadidx, once, the dead letters that died
// before it existed.
func (s *Store) indexDeadLetters(ctx context.Context) error {
	done, err := s.client.HExists(ctx, s.k.migrated(), migratedDead).Result()
	if err != nil || done {
		return err
	}
	from := "-"
	for {
		msgs, err := s.client.XRangeN(ctx, s.k.dead, from, "+", claimsBatch).Result()
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		args := make([]any, 0, 2*len(msgs))
		for _, m := range msgs {
			args = append(args, m.ID, stringValues(m.Values)["id"])
		}
		if err := indexDeadScript.Run(ctx, s.client, []string{s.k.dead, s.k.deadIndex()}, args...).Err(); err != nil {
			return err
		}
		from = "(" + msgs[len(msgs)-1].ID
	}
	return s.client.HSet(ctx, s.k.migrated(), migratedDead, time.Now().UTC().Format(time.RFC3339)).Err()
}
