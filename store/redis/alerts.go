package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
)

// Alerts are a hash and a sorted set per state (besides the keys listed
// in redis.go), all under the namespace's hash tag:
//
//	…:alert             hash  alert id → Alert JSON
//	…:alert:idx:STATE   zset  store.AlertIndexKey, all scores 0 (lex order)
func (k keys) alerts() string                         { return k.prefix + "alert" }
func (k keys) alertIdx(state store.AlertState) string { return k.prefix + "alert:idx:" + string(state) }

// raiseAlertsScript stores each alert not stored yet with its index
// entry. KEYS: alert hash, open index. ARGV: per alert id, JSON, index
// member. Returns the indexes (1-based, in alerts) of those stored.
var raiseAlertsScript = goredis.NewScript(`
local out = {}
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i+1]) == 1 then
    redis.call('ZADD', KEYS[2], 0, ARGV[i+2])
    out[#out+1] = (i + 2) / 3
  end
end
return out
`)

// RaiseAlerts stores the alerts not stored yet, in one script (durable:
// in replicas mode it waits for the replicas, as Enqueue does); see
// store.Alerts.
func (s *Store) RaiseAlerts(ctx context.Context, alerts []store.Alert) ([]store.Alert, error) {
	op := fmt.Sprintf("raise %d alerts", len(alerts))
	if err := s.check(op); err != nil {
		return nil, err
	}
	if len(alerts) == 0 {
		return nil, nil
	}
	args := make([]any, 0, 3*len(alerts))
	for i := range alerts {
		if err := store.CheckAlert(alerts[i]); err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		alerts[i].MsgTime, alerts[i].RaisedAt = alerts[i].MsgTime.UTC(), alerts[i].RaisedAt.UTC()
		v, err := json.Marshal(alerts[i])
		if err != nil {
			return nil, fmt.Errorf("redis: %s: %w", op, err)
		}
		args = append(args, alerts[i].ID, v, store.AlertIndexKey(alerts[i]))
	}
	// Durable like an enqueue: the archive commits its page once this
	// returns, so in replicas mode the alerts must be on the replicas
	// first, or a failover could lose a hit the archive no longer holds
	// back.
	res, err := s.pipe.runDurable(ctx, raiseAlertsScript, []string{s.k.alerts(), s.k.alertIdx(store.AlertOpen)}, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	idx, ok := res.([]any)
	if !ok {
		return nil, fmt.Errorf("redis: %s: unexpected reply %T", op, res)
	}
	var raised []store.Alert
	for _, v := range idx {
		i, ok := v.(int64)
		if !ok || i < 1 || int(i) > len(alerts) {
			return nil, fmt.Errorf("redis: %s: unexpected reply %v", op, v)
		}
		raised = append(raised, alerts[i-1])
	}
	return raised, nil
}

// GetAlert returns one alert, or store.ErrNotFound.
func (s *Store) GetAlert(ctx context.Context, id string) (store.Alert, error) {
	op := "get alert " + id
	if err := s.check(op); err != nil {
		return store.Alert{}, err
	}
	var a store.Alert
	if err := s.getJSON(ctx, op, s.k.alerts(), id, &a); err != nil {
		return store.Alert{}, err
	}
	return a, nil
}

// ListAlerts reads a page of the state's index (ZRANGE BYLEX) and the
// alerts it names (HMGET); see store.Alerts.
func (s *Store) ListAlerts(ctx context.Context, state store.AlertState, p store.Page) ([]store.Alert, string, error) {
	op := "list alerts " + string(state)
	if err := s.check(op); err != nil {
		return nil, "", err
	}
	after, err := store.ParseAlertCursor(state, p.Cursor)
	if err != nil {
		return nil, "", fmt.Errorf("redis: %s: %w", op, err)
	}
	from := "-"
	if after != "" {
		from = "(" + after
	}
	size := p.Size()
	members, err := s.client.ZRangeByLex(ctx, s.k.alertIdx(state), &goredis.ZRangeBy{Min: from, Max: "+", Count: int64(size + 1)}).Result()
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	var next string
	if len(members) > size {
		members = members[:size]
		next = store.AlertCursor(state, members[size-1])
	}
	out := []store.Alert{}
	if len(members) == 0 {
		return out, "", nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m[strings.IndexByte(m, '|')+1:]
	}
	vals, err := s.client.HMGet(ctx, s.k.alerts(), ids...).Result()
	if err != nil {
		return nil, "", s.wrap(op, err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		if !ok {
			return nil, "", fmt.Errorf("redis: %s: index names missing alert %s", op, ids[i])
		}
		var a store.Alert
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, "", fmt.Errorf("redis: %s: decode alert %s: %w", op, ids[i], err)
		}
		out = append(out, a)
	}
	return out, next, nil
}

// decideAlertScript replaces an alert that is still as read and moves its
// index entry. KEYS: alert hash, old state's index, new state's index.
// ARGV: id, JSON as read, new JSON, old member, new member. Returns 1, or
// 0 if the alert changed since it was read.
var decideAlertScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], 0, ARGV[5])
return 1
`)

// DecideAlert reads the alert, applies d (store.DecideAlertState) and
// writes it back if it is still as read, trying again if another
// decision came between; see store.Alerts.
func (s *Store) DecideAlert(ctx context.Context, d store.AlertDecision) (store.Alert, bool, error) {
	op := "decide alert " + d.ID
	for range 10 {
		if err := s.check(op); err != nil {
			return store.Alert{}, false, err
		}
		raw, err := s.client.HGet(ctx, s.k.alerts(), d.ID).Result()
		switch {
		case errors.Is(err, goredis.Nil):
			return store.Alert{}, false, fmt.Errorf("redis: %s: %w", op, store.ErrNotFound)
		case err != nil:
			return store.Alert{}, false, s.wrap(op, err)
		}
		var a store.Alert
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return store.Alert{}, false, fmt.Errorf("redis: %s: decode: %w", op, err)
		}
		out, changed, err := store.DecideAlertState(a, d)
		var ae *store.AlertError
		switch {
		case errors.As(err, &ae):
			return a, false, err
		case err != nil:
			return a, false, fmt.Errorf("redis: %s: %w", op, err)
		case !changed:
			return out, false, nil
		}
		v, err := json.Marshal(out)
		if err != nil {
			return store.Alert{}, false, fmt.Errorf("redis: %s: %w", op, err)
		}
		ok, err := decideAlertScript.Run(ctx, s.client,
			[]string{s.k.alerts(), s.k.alertIdx(a.State), s.k.alertIdx(out.State)},
			d.ID, raw, v, store.AlertIndexKey(a), store.AlertIndexKey(out)).Int()
		if err != nil {
			return store.Alert{}, false, s.wrap(op, err)
		}
		if ok == 1 {
			return out, true, nil
		}
	}
	return store.Alert{}, false, fmt.Errorf("redis: %s: the alert kept changing under the decision", op)
}
