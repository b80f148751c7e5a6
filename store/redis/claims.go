package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/store/internal/index"
	"github.com/wecomply/wecomply/store/internal/purge"
)

// Recipient claims are a hash per claim key (…:claims:CLAIMKEY, user →
// owner) and one index of them all by the time each was made:
//
//	…:claimsat   zset of (claim key, user) tuples scored by the claim's µs
//
// Claims made before claimsat existed are indexed once, at Open, with
// the time of that Open (indexOldClaims), so that retention counts them
// from the upgrade (see migrate).

func (k keys) claimsAt() string { return k.prefix + "claimsat" }

// claimMember is a claim's member of claimsat (the encoding of
// resultsat's members: parseResultMember reads it).
func claimMember(key, user string) string { return resultMember(key, user) }

// claimsBatch is how many users one script of ClaimRecipients claims, so
// that a long list never holds Redis for long.
const claimsBatch = 1000

// claimRecipientsScript claims users for an owner: each user not claimed
// yet becomes the owner's, and is indexed in claimsat at the claim's
// time. KEYS: the claim key's hash, claimsat. ARGV: owner, the time µs,
// the claim key encoded as the first field of a claimsat member, then
// the users. The script encodes each user as the member's second field
// as index.AppendString does (0x00 written 0x00 0xFF, then 0x00 0x01),
// so that the key is sent once, not once a user. Returns the users the
// owner holds, in ARGV's order.
var claimRecipientsScript = goredis.NewScript(`
local owner, at, key = ARGV[1], ARGV[2], ARGV[3]
local out, z = {}, {}
for i = 4, #ARGV do
  local u = ARGV[i]
  if redis.call('HSETNX', KEYS[1], u, owner) == 1 then
    z[#z + 1] = at
    z[#z + 1] = key .. string.gsub(u, '%z', '\0\255') .. '\0\1'
    out[#out + 1] = u
  elseif redis.call('HGET', KEYS[1], u) == owner then
    out[#out + 1] = u
  end
end
if #z > 0 then redis.call('ZADD', KEYS[2], unpack(z)) end
return out
`)

// ClaimRecipients claims users for key on behalf of owner at at,
// claimsBatch users a script; see store.RecipientClaims. It returns, in
// their first order and without repeats, the users of users that owner
// holds for key.
func (s *Store) ClaimRecipients(ctx context.Context, key, owner string, users []string, at time.Time) ([]string, error) {
	op := "claim recipients of " + key + " for " + owner
	if err := s.check(op); err != nil {
		return nil, err
	}
	if key == "" || owner == "" || at.IsZero() {
		return nil, fmt.Errorf("redis: %s: want a key, an owner and a time", op)
	}
	users, err := index.Users(users)
	if err != nil {
		return nil, fmt.Errorf("redis: %s: %w", op, err)
	}
	out := make([]string, 0, len(users))
	keys := []string{s.k.claims(key), s.k.claimsAt()}
	keyField := string(index.AppendString(nil, key))
	for start := 0; start < len(users); start += claimsBatch {
		batch := users[start:min(start+claimsBatch, len(users))]
		args := make([]any, 0, 3+len(batch))
		args = append(args, owner, at.UnixMicro(), keyField)
		for _, u := range batch {
			args = append(args, u)
		}
		reply, err := s.pipe.run(ctx, claimRecipientsScript, keys, args...)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		held, ok := reply.([]any)
		if !ok {
			return nil, fmt.Errorf("redis: %s: unexpected reply %T", op, reply)
		}
		for _, h := range held {
			u, ok := h.(string)
			if !ok {
				return nil, fmt.Errorf("redis: %s: unexpected reply item %T", op, h)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// purgeClaimsScript deletes claims still indexed at the time read.
// KEYS: claimsat, then the hash of every claim key of the batch. ARGV:
// per claim four values: the index in KEYS of its hash, user, claimsat
// member, its score as read. Returns how many claims were deleted (a
// member whose claim was gone is removed without counting).
var purgeClaimsScript = goredis.NewScript(`
local n = 0
for i = 1, #ARGV, 4 do
  if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i+2])) == tonumber(ARGV[i+3]) then
    redis.call('ZREM', KEYS[1], ARGV[i+2])
    n = n + redis.call('HDEL', KEYS[tonumber(ARGV[i])], ARGV[i+1])
  end
end
return n
`)

// purgeClaims walks claimsat by score (the claim's µs) from the oldest
// up to Before, as purgeSendResults walks resultsat (the cursor is an
// offset into that range: the claims examined and left in it by the
// batches before, those a hold keeps).
func (s *Store) purgeClaims(ctx context.Context, b store.PurgeBatch, after []byte, limit int) (store.PurgeResult, error) {
	zs, offset, more, err := s.pastRetention(ctx, s.k.claimsAt(), b.Before, after, limit)
	if err != nil || len(zs) == 0 {
		return store.PurgeResult{}, err
	}
	var res store.PurgeResult
	keys := []string{s.k.claimsAt()}
	hashAt := map[string]int{} // claims hash → its position in KEYS (1-based)
	var args []any
	for _, z := range zs {
		m := z.Member.(string)
		key, user, ok := parseResultMember(m)
		if !ok {
			return store.PurgeResult{}, fmt.Errorf("malformed claimsat member %q", m)
		}
		switch purge.RecipientClaim(key, user, time.UnixMicro(int64(z.Score)), b) {
		case purge.Held:
			res.Held++
			continue
		case purge.Keep:
			continue
		}
		h := s.k.claims(key)
		at, ok := hashAt[h]
		if !ok {
			keys = append(keys, h)
			at = len(keys)
			hashAt[h] = at
		}
		args = append(args, at, user, m, strconv.FormatInt(int64(z.Score), 10))
	}
	if len(args) > 0 {
		n, err := purgeClaimsScript.Run(ctx, s.client, keys, args...).Int()
		if err != nil {
			return store.PurgeResult{}, err
		}
		res.Purged = n
	}
	if more {
		res.Next = purge.Cursor(b.Kind, []byte(strconv.Itoa(offset+len(zs)-len(args)/4)))
	}
	return res, nil
}

// pastRetention reads the next batch of a purge that walks the zset key by
// score (µs) from the oldest up to before: up to limit members with their
// scores, after the offset the cursor after holds, and whether more
// follow.
func (s *Store) pastRetention(ctx context.Context, key string, before time.Time, after []byte, limit int) (zs []goredis.Z, offset int, more bool, err error) {
	if after != nil {
		n, err := strconv.Atoi(string(after))
		if err != nil || n < 0 {
			return nil, 0, false, store.ErrInvalidCursor
		}
		offset = n
	}
	// Scores are whole µs: include the µs of before, whose records may
	// be before it by nanoseconds; the verdict compares exactly.
	zs, err = s.client.ZRangeArgsWithScores(ctx, goredis.ZRangeArgs{
		Key: key, Start: "-inf", Stop: "(" + strconv.FormatInt(before.UnixMicro()+1, 10),
		ByScore: true, Offset: int64(offset), Count: int64(limit + 1),
	}).Result()
	if err != nil {
		return nil, 0, false, err
	}
	if more = len(zs) > limit; more {
		zs = zs[:limit]
	}
	return zs, offset, more, nil
}

// indexOldClaims indexes in claimsat, at now, every claim made before
// claimsat existed, once (…:migrated remembers it): it finds the claim
// hashes with SCAN and adds their users with ZADD NX, so a claim indexed
// already keeps its time and a run cut short may run again. It reports
// how many claims it indexed.
func (s *Store) indexOldClaims(ctx context.Context, now time.Time) (int, error) {
	done, err := s.client.HExists(ctx, s.k.migrated(), migratedClaims).Result()
	if err != nil || done {
		return 0, err
	}
	pattern := globEscaper.Replace(s.k.claims("")) + "*"
	prefix := s.k.claims("")
	total := 0
	var cursor uint64
	for {
		found, next, err := s.client.ScanType(ctx, cursor, pattern, claimsBatch, "hash").Result()
		if err != nil {
			return total, err
		}
		for _, h := range found {
			key := strings.TrimPrefix(h, prefix)
			var hc uint64
			for {
				kv, hnext, err := s.client.HScan(ctx, h, hc, "", claimsBatch).Result()
				if err != nil {
					return total, err
				}
				zs := make([]goredis.Z, 0, len(kv)/2)
				for i := 0; i+1 < len(kv); i += 2 {
					zs = append(zs, goredis.Z{Score: float64(now.UnixMicro()), Member: claimMember(key, kv[i])})
				}
				if len(zs) > 0 {
					n, err := s.client.ZAddNX(ctx, s.k.claimsAt(), zs...).Result()
					if err != nil {
						return total, err
					}
					total += int(n)
				}
				if hc = hnext; hc == 0 {
					break
				}
			}
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return total, s.client.HSet(ctx, s.k.migrated(), migratedClaims, now.UTC().Format(time.RFC3339)).Err()
}

// globEscaper escapes what SCAN's MATCH would read as a pattern.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
