package redis

import goredis "github.com/redis/go-redis/v9"

// The Lua scripts below do everything that must happen atomically. Each
// declares every key it touches in KEYS, and all those keys share the
// namespace's hash tag, so they run unchanged on Redis Cluster.
//
// Queue scripts share this KEYS layout:
//
//	KEYS[1] events stream     KEYS[2] attempts hash (id → n)
//	KEYS[3] last-error hash   KEYS[4] returned hash (id → not-before ms)
//	KEYS[5] dead stream       KEYS[6] scheduled zset
//	KEYS[7] dead index (entry id → dead stream id)
//
// An entry of the events stream is in one of these states:
//
//	new       not yet delivered to the group (XREADGROUP ">" finds it)
//	leased    pending (in the group's PEL), no returned mark
//	returned  pending, with a returned mark: given back by Fail or
//	          Postpone (not before the mark's time) or by Release (mark 0);
//	          XAUTOCLAIM finds it once its idle time reaches the lease,
//	          because Fail, Postpone and Release set that idle time with
//	          XCLAIM … IDLE
//
// A reclaimed entry without a returned mark is an expired lease and
// counts as a failed attempt.
//
// An entry enqueued with a NotBefore still to come is not in the stream
// yet: it waits in the scheduled zset (scored by its not-before ms), its
// fields packed with cmsgpack behind a sequence number that keeps equal
// entries apart, until the claim script adds it to the stream.

// enqueueScript sets the dedup key and, only if it was absent, adds the
// event, to the stream or, if it is scheduled, to the scheduled zset:
// both or neither.
//
// KEYS[1] dedup key, KEYS[2] events stream, KEYS[3] scheduled zset,
// KEYS[4] scheduled sequence.
// ARGV: dedup TTL ms, dedup key, kind, receiver, received_at µs, payload,
// not_before µs or "", the not-before ms to schedule it at or "" for now.
// Returns the new entry's id ("scheduled" for a scheduled one), or nil for
// a duplicate.
var enqueueScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return false
end
local fields = {'dedup', ARGV[2], 'kind', ARGV[3], 'receiver', ARGV[4],
  'received_at', ARGV[5], 'payload', ARGV[6]}
if ARGV[7] ~= '' then
  fields[#fields + 1] = 'not_before'
  fields[#fields + 1] = ARGV[7]
end
local id
if ARGV[8] ~= '' then
  local seq = redis.call('INCR', KEYS[4])
  id = redis.pcall('ZADD', KEYS[3], ARGV[8], cmsgpack.pack(seq, unpack(fields)))
  if type(id) ~= 'table' then id = 'scheduled' end
else
  id = redis.pcall('XADD', KEYS[2], '*', unpack(fields))
end
if type(id) == 'table' and id.err then
  redis.call('DEL', KEYS[1])
  return id
end
return id
`)

// luaCommon holds helpers shared by the queue scripts.
const luaCommon = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function forget(id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('HDEL', KEYS[3], id)
  redis.call('HDEL', KEYS[4], id)
end

-- kill moves a pending entry with the given fields to the dead stream,
-- indexed by its id.
local function kill(group, id, fields, attempts, lasterr, now)
  local d = {'id', id}
  for i = 1, #fields do d[#d + 1] = fields[i] end
  d[#d + 1] = 'attempts'; d[#d + 1] = tostring(attempts)
  d[#d + 1] = 'last_error'; d[#d + 1] = lasterr
  d[#d + 1] = 'died_at'; d[#d + 1] = tostring(now)
  redis.call('HSET', KEYS[7], id, redis.call('XADD', KEYS[5], '*', unpack(d)))
  redis.call('XACK', KEYS[1], group, id)
  redis.call('XDEL', KEYS[1], id)
  forget(id)
end

-- holder returns the consumer holding id for the claim whose token (the
-- entry's delivery count, which every hand-out raises: XREADGROUP makes it
-- 1, XAUTOCLAIM adds 1, XCLAIM … JUSTID leaves it) is token; nil if id is
-- not leased (not pending, or given back with a returned mark) or is
-- leased by another claim.
local function holder(group, id, token)
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if #p == 0 or tostring(p[1][4]) ~= token or redis.call('HEXISTS', KEYS[4], id) == 1 then
    return nil
  end
  return p[1][2]
end

-- deliveryCount is the token of the claim that has just handed id out.
local function deliveryCount(group, id)
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if #p == 0 then return '0' end
  return tostring(p[1][4])
end
`

// claimScript first adds to the stream up to a batch of scheduled
// entries that came due. Then it reclaims (XAUTOCLAIM) entries idle for
// at least the lease: given-back entries whose time has come are
// delivered as they are; deferred ones (Fail or Postpone with a delay
// longer than the lease) are set back with the idle time that makes them
// due at their not-before time; the others are expired leases, counted as
// failed attempts and dead-lettered at MaxAttempts. Then it reads new
// entries (XREADGROUP without BLOCK) up to max.
//
// ARGV: group, consumer, lease ms, max, max attempts, lease-expired
// message, scheduled batch.
// Returns {more, {{id, {field, value, …}, attempts, last error, token},
// …}}, more being 1 when a full batch of scheduled entries was moved (more
// may be due); the token is the entry's delivery count (see holder).
var claimScript = goredis.NewScript(luaCommon + `
local group, consumer = ARGV[1], ARGV[2]
local lease, max, maxAttempts = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local out = {}
local due = redis.call('ZRANGEBYSCORE', KEYS[6], '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
for _, packed in ipairs(due) do
  local f = {cmsgpack.unpack(packed)}
  redis.call('XADD', KEYS[1], '*', unpack(f, 2))
  redis.call('ZREM', KEYS[6], packed)
end
local more = 0
if #due >= tonumber(ARGV[7]) then more = 1 end
local cursor = '0-0'
for round = 1, 10 do
  local res = redis.call('XAUTOCLAIM', KEYS[1], group, consumer, lease, cursor, 'COUNT', max - #out)
  cursor = res[1]
  for _, e in ipairs(res[2]) do
    if type(e) == 'table' then
      local id, fields = e[1], e[2]
      local mark = redis.call('HGET', KEYS[4], id)
      if mark then
        local notBefore = tonumber(mark)
        if notBefore > now then
          local idle = lease - (notBefore - now)
          if idle < 0 then idle = 0 end
          redis.call('XCLAIM', KEYS[1], group, consumer, 0, id, 'IDLE', idle, 'JUSTID')
        else
          redis.call('HDEL', KEYS[4], id)
          out[#out + 1] = {id, fields, redis.call('HGET', KEYS[2], id) or '0', redis.call('HGET', KEYS[3], id) or '',
            deliveryCount(group, id)}
        end
      else
        local n = redis.call('HINCRBY', KEYS[2], id, 1)
        redis.call('HSET', KEYS[3], id, ARGV[6])
        if n >= maxAttempts then
          kill(group, id, fields, n, ARGV[6], now)
        else
          out[#out + 1] = {id, fields, tostring(n), ARGV[6], deliveryCount(group, id)}
        end
      end
    end
  end
  -- Entries deleted from the stream while pending: drop them from the PEL.
  if res[3] then
    for _, id in ipairs(res[3]) do
      redis.call('XACK', KEYS[1], group, id)
      forget(id)
    end
  end
  if cursor == '0-0' or #out >= max then break end
end
if #out < max then
  local r = redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', max - #out, 'STREAMS', KEYS[1], '>')
  if r then
    for _, e in ipairs(r[1][2]) do
      out[#out + 1] = {e[1], e[2], '0', '', '1'}
    end
  end
end
return {more, out}
`)

// ackScript removes a leased entry. ARGV: group, id, token. Returns 1, or
// 0 if the claim with that token does not hold the entry (see holder).
var ackScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
if not holder(group, id, ARGV[3]) then return 0 end
redis.call('XACK', KEYS[1], group, id)
redis.call('XDEL', KEYS[1], id)
forget(id)
return 1
`)

// failScript counts a failed attempt of a leased entry and gives it back
// (claimable after retryAfter) or dead-letters it.
//
// ARGV: group, id, cause, retryAfter ms, lease ms, max attempts, token.
// Returns 0 (retry), 1 (dead) or -1 (not leased by that claim).
var failScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id, ARGV[7])
if not owner then return -1 end
local now = now_ms()
local n = redis.call('HINCRBY', KEYS[2], id, 1)
redis.call('HSET', KEYS[3], id, ARGV[3])
if n >= tonumber(ARGV[6]) then
  local r = redis.call('XRANGE', KEYS[1], id, id)
  if #r == 0 then
    redis.call('XACK', KEYS[1], group, id)
    forget(id)
    return -1
  end
  kill(group, id, r[1][2], n, ARGV[3], now)
  return 1
end
local retryAfter = tonumber(ARGV[4])
if retryAfter < 0 then retryAfter = 0 end
redis.call('HSET', KEYS[4], id, now + retryAfter)
local idle = tonumber(ARGV[5]) - retryAfter
if idle < 0 then idle = 0 end
redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'IDLE', idle, 'JUSTID')
return 0
`)

// releaseScript gives a leased entry back, claimable at once, without
// counting an attempt. ARGV: group, id, lease ms, token. Returns 1, or 0
// if the entry is not leased by that claim.
var releaseScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id, ARGV[4])
if not owner then return 0 end
redis.call('HSET', KEYS[4], id, 0)
redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'IDLE', ARGV[3], 'JUSTID')
return 1
`)

// postponeScript gives a leased entry back without counting an attempt,
// claimable after a delay: Fail's way without the attempt.
// ARGV: group, id, after ms, lease ms, token. Returns 1, or 0 if the
// entry is not leased by that claim.
var postponeScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id, ARGV[5])
if not owner then return 0 end
local after = tonumber(ARGV[3])
if after < 0 then after = 0 end
local mark = 0
if after > 0 then mark = now_ms() + after end
redis.call('HSET', KEYS[4], id, mark)
local idle = tonumber(ARGV[4]) - after
if idle < 0 then idle = 0 end
redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'IDLE', idle, 'JUSTID')
return 1
`)

// extendScript renews a claim's lease: the entry's idle time (from which
// XAUTOCLAIM counts the lease) starts again at 0, without raising the
// delivery count. ARGV: group, id, token. Returns 1, or 0 if the entry is
// not leased by that claim.
var extendScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id, ARGV[3])
if not owner then return 0 end
redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'IDLE', 0, 'JUSTID')
return 1
`)

// statsScript counts entries by state in one snapshot.
// KEYS: events, returned, dead, scheduled. ARGV: group.
// Returns {ready, leased, dead}; scheduled entries count as ready.
var statsScript = goredis.NewScript(`
local len = redis.call('XLEN', KEYS[1])
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
local returned = redis.call('HLEN', KEYS[2])
local scheduled = redis.call('ZCARD', KEYS[4])
return {len - pending + returned + scheduled, pending - returned, redis.call('XLEN', KEYS[3])}
`)

// appendLogScript adds a log entry unless its dedup key is logged.
// Members of the sorted sets are a zero-padded append sequence followed
// by the dedup key, so entries with the same received_at sort in append
// order.
//
// KEYS: log hash, log:all zset, log:kind:<kind> zset, log:seq counter.
// ARGV: dedup key, JSON, received_at µs, "1" to index the kind.
// Returns 1 if added, 0 if already there.
var appendLogScript = goredis.NewScript(`
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[4])
local member = string.format('%020d', seq) .. ARGV[1]
redis.call('ZADD', KEYS[2], ARGV[3], member)
if ARGV[4] == '1' then redis.call('ZADD', KEYS[3], ARGV[3], member) end
return 1
`)

// logSeqWidth is the width of the sequence prefix of log members.
const logSeqWidth = 20

// acquireLeaseScript takes a lease that is free or already the holder's.
// KEYS[1] lease key. ARGV: holder, ttl ms. Returns 1 if held, else 0.
var acquireLeaseScript = goredis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseLeaseScript deletes a lease if the holder holds it.
// KEYS[1] lease key. ARGV: holder. Returns 1 if deleted, else 0.
var releaseLeaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// deleteTokenScript deletes a cached token ("expires-at ms|token") if it
// is still the given one. KEYS[1] token key. ARGV: token. Returns 1 if
// deleted, else 0.
var deleteTokenScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local i = string.find(v, '|', 1, true)
if i and string.sub(v, i + 1) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`)

// bookSendScript checks a send unit against its members' windows and the
// day's quota and, only if all allow it, records it (see
// store.SendLimits). Each member's sends are a zset scored by ms; the
// window (at−period, at] holds the sends counted at at.
//
// KEYS[1] booked marker, KEYS[2] day's quota counter, KEYS[3…] one sends
// zset per member (none when there are no windows).
// ARGV: at ms, zset member of this send, prune-before ms, sends
// expire-at ms (at the earliest), marker TTL ms, daily quota (0: none),
// quota counter expire-at ms (at the earliest), number of members,
// number of windows, then period ms and limit of each window.
// Returns {1} already booked, {2} recorded, or {0, quota full (0/1),
// {member index (1-based), earliest ms, …}} refused.
var bookSendScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return {1} end
local at = tonumber(ARGV[1])
local quota, members, nw = tonumber(ARGV[6]), tonumber(ARGV[8]), tonumber(ARGV[9])
local windows = {}
for i = 1, nw do
  local period = tonumber(ARGV[8 + 2 * i])
  windows[i] = {period, tonumber(ARGV[9 + 2 * i]), '(' .. string.format('%.0f', at - period)}
end
local atArg = string.format('%.0f', at)

-- A window cannot be full when the whole zset holds fewer sends than its
-- limit (ZCARD is O(1)): most members need no ZCOUNT at all.
local cards = {}
local blocked = {}
for k = 3, #KEYS do
  local card = redis.call('ZCARD', KEYS[k])
  cards[k] = card
  local earliest
  for _, w in ipairs(windows) do
    if card >= w[2] then
      local n = redis.call('ZCOUNT', KEYS[k], w[3], atArg)
      if n >= w[2] then
        -- free once the (n-limit+1)-th oldest send has left the window
        local r = redis.call('ZRANGEBYSCORE', KEYS[k], w[3], atArg, 'WITHSCORES', 'LIMIT', n - w[2], 1)
        local t = tonumber(r[2]) + w[1]
        if not earliest or t > earliest then earliest = t end
      end
    end
  end
  if earliest then
    blocked[#blocked + 1] = k - 2
    blocked[#blocked + 1] = earliest
  end
end
local quotaFull = 0
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
if quota > 0 and used + members > quota then quotaFull = 1 end
if #blocked > 0 or quotaFull == 1 then return {0, quotaFull, blocked} end

-- Record. Every key written here gets an expiry, so a zset that existed
-- has one: GT only ever extends it.
for k = 3, #KEYS do
  redis.call('ZADD', KEYS[k], atArg, ARGV[2])
  if cards[k] == 0 then
    redis.call('PEXPIREAT', KEYS[k], ARGV[4])
  else
    redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[3])
    redis.call('PEXPIREAT', KEYS[k], ARGV[4], 'GT')
  end
end
if redis.call('INCRBY', KEYS[2], members) == members then
  redis.call('PEXPIREAT', KEYS[2], ARGV[7])
else
  redis.call('PEXPIREAT', KEYS[2], ARGV[7], 'GT')
end
redis.call('SET', KEYS[1], '1', 'PX', ARGV[5])
return {2}
`)
