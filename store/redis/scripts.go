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
//	KEYS[5] dead stream
//
// An entry of the events stream is in one of these states:
//
//	new       not yet delivered to the group (XREADGROUP ">" finds it)
//	leased    pending (in the group's PEL), no returned mark
//	returned  pending, with a returned mark: given back by Fail (not before
//	          the mark's time) or by Release (mark 0); XAUTOCLAIM finds it
//	          once its idle time reaches the lease, because Fail and
//	          Release set that idle time with XCLAIM … IDLE
//
// A reclaimed entry without a returned mark is an expired lease and
// counts as a failed attempt.

// enqueueScript sets the dedup key and, only if it was absent, adds the
// event: both or neither.
//
// KEYS[1] dedup key, KEYS[2] events stream.
// ARGV: dedup TTL ms, dedup key, kind, receiver, received_at µs, payload.
// Returns the new entry's id, or nil for a duplicate.
var enqueueScript = goredis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return false
end
local id = redis.pcall('XADD', KEYS[2], '*', 'dedup', ARGV[2], 'kind', ARGV[3],
  'receiver', ARGV[4], 'received_at', ARGV[5], 'payload', ARGV[6])
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

-- kill moves a pending entry with the given fields to the dead stream.
local function kill(group, id, fields, attempts, lasterr, now)
  local d = {'id', id}
  for i = 1, #fields do d[#d + 1] = fields[i] end
  d[#d + 1] = 'attempts'; d[#d + 1] = tostring(attempts)
  d[#d + 1] = 'last_error'; d[#d + 1] = lasterr
  d[#d + 1] = 'died_at'; d[#d + 1] = tostring(now)
  redis.call('XADD', KEYS[5], '*', unpack(d))
  redis.call('XACK', KEYS[1], group, id)
  redis.call('XDEL', KEYS[1], id)
  forget(id)
end

-- holder returns the consumer holding id, or nil if id is not leased
-- (not pending, or given back with a returned mark).
local function holder(group, id)
  local p = redis.call('XPENDING', KEYS[1], group, id, id, 1)
  if #p == 0 or redis.call('HEXISTS', KEYS[4], id) == 1 then
    return nil
  end
  return p[1][2]
end
`

// claimScript reclaims (XAUTOCLAIM) entries idle for at least the lease:
// given-back entries whose time has come are delivered as they are;
// deferred ones (Fail with a retryAfter longer than the lease) are set
// back with the idle time that makes them due at their not-before time;
// the others are expired leases, counted as failed attempts and
// dead-lettered at MaxAttempts. Then it reads new entries (XREADGROUP
// without BLOCK) up to max.
//
// ARGV: group, consumer, lease ms, max, max attempts, lease-expired message.
// Returns {{id, {field, value, …}, attempts, last error}, …}.
var claimScript = goredis.NewScript(luaCommon + `
local group, consumer = ARGV[1], ARGV[2]
local lease, max, maxAttempts = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local out = {}
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
          out[#out + 1] = {id, fields, redis.call('HGET', KEYS[2], id) or '0', redis.call('HGET', KEYS[3], id) or ''}
        end
      else
        local n = redis.call('HINCRBY', KEYS[2], id, 1)
        redis.call('HSET', KEYS[3], id, ARGV[6])
        if n >= maxAttempts then
          kill(group, id, fields, n, ARGV[6], now)
        else
          out[#out + 1] = {id, fields, tostring(n), ARGV[6]}
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
      out[#out + 1] = {e[1], e[2], '0', ''}
    end
  end
end
return out
`)

// ackScript removes a leased entry. ARGV: group, id. Returns 1, or 0 if
// the entry is not leased. It runs once per event, so it is the cheap
// form of holder(): XACK itself says whether the entry was pending, and a
// returned mark (checked first) means it was given back.
var ackScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[4], ARGV[2]) == 1 then return 0 end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[2])
return 1
`)

// failScript counts a failed attempt of a leased entry and gives it back
// (claimable after retryAfter) or dead-letters it.
//
// ARGV: group, id, cause, retryAfter ms, lease ms, max attempts.
// Returns 0 (retry), 1 (dead) or -1 (not leased).
var failScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id)
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
// counting an attempt. ARGV: group, id, lease ms. Returns 1, or 0 if the
// entry is not leased.
var releaseScript = goredis.NewScript(luaCommon + `
local group, id = ARGV[1], ARGV[2]
local owner = holder(group, id)
if not owner then return 0 end
redis.call('HSET', KEYS[4], id, 0)
redis.call('XCLAIM', KEYS[1], group, owner, 0, id, 'IDLE', ARGV[3], 'JUSTID')
return 1
`)

// statsScript counts entries by state in one snapshot.
// KEYS: events, returned, dead. ARGV: group. Returns {ready, leased, dead}.
var statsScript = goredis.NewScript(`
local len = redis.call('XLEN', KEYS[1])
local pending = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
local returned = redis.call('HLEN', KEYS[2])
return {len - pending + returned, pending - returned, redis.call('XLEN', KEYS[3])}
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
