package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
)

// resultsBatch is how many results one script of PutSendResults writes,
// and the COUNT hint of ListSendResults' HSCAN: a notice to 100,000
// members never costs Redis one long command.
const resultsBatch = 1000

// PutSendResults records results, replacing earlier ones of the same
// notice and user, in scripts (atomic, like MULTI/EXEC: every key is in
// the corp's slot) of resultsBatch, sent in the pipeliner's batches; see
// store.SendResults. Each script also indexes its results in resultsat
// by At, for retention. If it fails, a part of results may be recorded,
// and calling it again with the same results is harmless.
//
// Results written before resultsat existed are not in it, and Redis
// has no index of notice keys to find them without SCAN: retention does
// not see them until they are written again (a result replaced by a
// later send is indexed then); until then they are kept.
func (s *Store) PutSendResults(ctx context.Context, results []store.RecipientResult) error {
	if err := s.check("put send results"); err != nil {
		return err
	}
	values := make([][]byte, len(results))
	for i, r := range results {
		if r.NoticeKey == "" || r.UserID == "" {
			return errors.New("redis: put send results: a result without a notice key or user id")
		}
		v, err := json.Marshal(r)
		if err != nil {
			return fmt.Errorf("redis: put send results of %s: %w", r.NoticeKey, err)
		}
		values[i] = v
	}
	for start := 0; start < len(results); start += resultsBatch {
		batch := results[start:min(start+resultsBatch, len(results))]
		keys := []string{s.k.resultsAt}
		keyOf := map[string]int{} // notice key → its hash's position in keys
		args := make([]any, 0, 1+5*len(batch))
		args = append(args, len(batch))
		for i, r := range batch {
			k, ok := keyOf[r.NoticeKey]
			if !ok {
				keys = append(keys, s.k.results(r.NoticeKey))
				k = len(keys)
				keyOf[r.NoticeKey] = k
			}
			args = append(args, k, r.UserID, values[start+i], r.At.UnixMicro(), resultMember(r.NoticeKey, r.UserID))
		}
		if _, err := s.pipe.run(ctx, putResultsScript, keys, args...); err != nil {
			return s.wrap("put send results of "+batch[0].NoticeKey, err)
		}
	}
	return nil
}

// putResultsScript writes a batch of send results and indexes them by
// time, in the batch's order (a later result of the same recipient
// wins). KEYS: resultsat, then the results hash of each notice of the
// batch. ARGV: the number of results, then five per result: the
// position in KEYS of its notice's hash, user id, JSON, At in µs, its
// resultsat member.
var putResultsScript = goredis.NewScript(`
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local a = 2 + i * 5
  redis.call('HSET', KEYS[tonumber(ARGV[a])], ARGV[a + 1], ARGV[a + 2])
  redis.call('ZADD', KEYS[1], ARGV[a + 3], ARGV[a + 4])
end
return n
`)

// SendResult returns one recipient's result, or store.ErrNotFound; see
// store.SendResults.
func (s *Store) SendResult(ctx context.Context, noticeKey, userID string) (store.RecipientResult, error) {
	op := "get send result of " + noticeKey
	if err := s.check(op); err != nil {
		return store.RecipientResult{}, err
	}
	v, err := s.hget(ctx, s.k.results(noticeKey), userID)
	switch {
	case errors.Is(err, goredis.Nil):
		return store.RecipientResult{}, fmt.Errorf("redis: %s for %s: %w", op, userID, store.ErrNotFound)
	case err != nil:
		return store.RecipientResult{}, s.wrap(op, err)
	}
	var r store.RecipientResult
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return store.RecipientResult{}, fmt.Errorf("redis: %s for %s: %w", op, userID, err)
	}
	return r, nil
}

// GetSendResults returns the results of userIDs for a notice, in UserID
// order: HMGET of the notice's hash (see hmgetJSON); see
// store.SendResults.
func (s *Store) GetSendResults(ctx context.Context, noticeKey string, userIDs []string) ([]store.RecipientResult, error) {
	return hmgetJSON[store.RecipientResult](ctx, s, "get send results of "+noticeKey, s.k.results(noticeKey), userIDs)
}

// ListSendResults returns a notice's results in UserID order; see
// store.SendResults. It reads the notice's hash with HSCAN, resultsBatch
// fields at a time, so a large notice does not block Redis, and sorts
// them here. (The hash is not read in one snapshot: a result put while
// it is read may or may not be in the list.)
func (s *Store) ListSendResults(ctx context.Context, noticeKey string) ([]store.RecipientResult, error) {
	op := "list send results of " + noticeKey
	if err := s.check(op); err != nil {
		return nil, err
	}
	key := s.k.results(noticeKey)
	raw := map[string]string{}
	var cursor uint64
	for {
		kv, next, err := s.client.HScan(ctx, key, cursor, "", resultsBatch).Result()
		if err != nil {
			return nil, s.wrap(op, err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			raw[kv[i]] = kv[i+1] // HSCAN may return a field twice
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	users := make([]string, 0, len(raw))
	for u := range raw {
		users = append(users, u)
	}
	slices.Sort(users)
	out := make([]store.RecipientResult, len(users))
	for i, u := range users {
		if err := json.Unmarshal([]byte(raw[u]), &out[i]); err != nil {
			return nil, fmt.Errorf("redis: %s: result of %s: %w", op, u, err)
		}
	}
	return out, nil
}

// resultMember is a result's member of resultsat.
func resultMember(noticeKey, userID string) string {
	return string(index.AppendString(index.AppendString(nil, noticeKey), userID))
}

// parseResultMember returns the notice key and user of a resultsat
// member.
func parseResultMember(m string) (noticeKey, userID string, ok bool) {
	noticeKey, rest, ok := index.ReadString([]byte(m))
	if !ok {
		return "", "", false
	}
	userID, rest, ok = index.ReadString(rest)
	return noticeKey, userID, ok && len(rest) == 0
}
