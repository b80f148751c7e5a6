package redis

import goredis "github.com/redis/go-redis/v9"

// The scripts of the compliance records (see redis.go for the keys). The
// records' JSON is made and read in Go only: a script that changes a
// record is given the new JSON, and either creates it if absent or
// compares the stored JSON with what Go read before (compare and set), so
// that the read, Go's change and the write are one atomic step or none.
// Index members and counters change in the same script as the record.

// luaObligationStatus moves an obligation from one status to another in
// the status index and the counters.
// status zset, count hash, old member, new member, old status, new status.
const luaObligationStatus = `
local function move_status(zset, counts, oldMember, newMember, oldStatus, newStatus)
  if oldStatus == newStatus then return end
  redis.call('ZREM', zset, oldMember)
  redis.call('ZADD', zset, 0, newMember)
  if redis.call('HINCRBY', counts, oldStatus, -1) <= 0 then
    redis.call('HDEL', counts, oldStatus)
  end
  redis.call('HINCRBY', counts, newStatus, 1)
end
`

// luaKeepDue keeps an obligation's entries in its notice version's due
// index (see index.DueKeeps and dueArgs): only while the index's marker
// (in obl:duefor, under the index's key) is for the writer's cadence;
// a writer of another cadence, or of none (""), marks it stale ("")
// instead, so that it is built again before it is read.
// due zset, obl:duefor, the writer's cadence, the old entries and the
// new ones ("" for none).
const luaKeepDue = `
local function keep_due(zset, markers, cadence, old1, old2, new1, new2)
  local m = redis.call('HGET', markers, zset)
  if not m or m == '' then return end
  if cadence == '' or (m ~= cadence and string.sub(m, 1, #cadence + 1) ~= cadence .. '|') then
    redis.call('HSET', markers, zset, '')
    return
  end
  if old1 ~= '' then redis.call('ZREM', zset, old1) end
  if old2 ~= '' then redis.call('ZREM', zset, old2) end
  if new1 ~= '' then redis.call('ZADD', zset, 0, new1) end
  if new2 ~= '' then redis.call('ZADD', zset, 0, new2) end
end
`

// createObligationScript stores an obligation unless its key exists.
// KEYS: obl hash, obl:idx, obl:user, obl:status, obl:count of its notice
// version, its due index, obl:duefor. ARGV: key, JSON, user member,
// status member, status, then dueArgs' five: cadence, old entries (""),
// new entries.
// Returns 1 if created, 0 if it existed.
var createObligationScript = goredis.NewScript(luaKeepDue + `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
redis.call('ZADD', KEYS[4], 0, ARGV[4])
redis.call('HINCRBY', KEYS[5], ARGV[5], 1)
keep_due(KEYS[6], KEYS[7], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10])
return 1
`)

// casObligationScript replaces an obligation if it is still what the
// caller read. KEYS: obl hash, obl:status, obl:count of its notice
// version, its due index, obl:duefor. ARGV: key, JSON as read, new JSON,
// old status member, new status member, old status, new status, then
// dueArgs' five.
// Returns 1 if replaced, 0 if it changed since it was read, -1 if there
// is none.
var casObligationScript = goredis.NewScript(luaObligationStatus + luaKeepDue + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
move_status(KEYS[2], KEYS[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
keep_due(KEYS[4], KEYS[5], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
return 1
`)

// attestScript stores an attestation unless one exists for its key and,
// in the same step, writes the acknowledged obligation, provided the
// obligation is still what the caller read (or still absent).
// KEYS: att hash, att:idx, att:user, obl hash, obl:status, obl:count of
// the notice version, its due index, obl:duefor. ARGV: attestation key,
// attestation JSON, att:user member, obligation key, obligation JSON as
// read, "1" if there was one (else "0"), acknowledged obligation JSON
// ("" to leave it), old status member, new status member, old status,
// new status, then dueArgs' five.
// Returns 1 if stored, 0 if an attestation exists, -1 if the obligation
// changed since it was read (nothing is written; read it again).
var attestScript = goredis.NewScript(luaObligationStatus + luaKeepDue + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
local cur = redis.call('HGET', KEYS[4], ARGV[4])
if ARGV[6] == '1' then
  if cur ~= ARGV[5] then return -1 end
elseif cur then
  return -1
end
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[7])
  move_status(KEYS[5], KEYS[6], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
  keep_due(KEYS[7], KEYS[8], ARGV[12], ARGV[13], ARGV[14], ARGV[15], ARGV[16])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[3])
return 1
`)

// latestAttestationScript returns the attestation of a person and notice
// version in the latest round: the last member of att:idx that starts
// with the obligation's key (see index.AttestationKey).
// KEYS: att hash, att:idx. ARGV: "(" ‖ the key's successor, "[" ‖ the key.
// Returns the JSON, or nil if there is none.
var latestAttestationScript = goredis.NewScript(`
local m = redis.call('ZRANGE', KEYS[2], ARGV[1], ARGV[2], 'BYLEX', 'REV', 'LIMIT', 0, 1)
if #m == 0 then return false end
return redis.call('HGET', KEYS[1], m[1])
`)

// listLexScript reads a chunk of an index and the records it names in
// one step (listLex).
// KEYS[1] the index (a sorted set of equal scores), KEYS[2] the records'
// hash. ARGV: ZRANGE BYLEX's min and max, the most members to read, how
// many leading bytes of a member to drop to get its record's field.
// Returns {members, records}, a record false where the hash has none.
var listLexScript = goredis.NewScript(`
local members = redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[3]))
if #members == 0 then return {members, {}} end
local skip = tonumber(ARGV[4]) + 1
local fields = {}
for i, m in ipairs(members) do fields[i] = string.sub(m, skip) end
return {members, redis.call('HMGET', KEYS[2], unpack(fields))}
`)

// updateObligationsScript is casObligationScript for a batch: it
// replaces each obligation that is still what the caller read, and
// leaves the others.
// KEYS: obl hash, obl:status, obl:duefor, then the obl:count hash and
// the due index of every notice version of the batch. ARGV: 14 per
// obligation: key, JSON as read, new JSON, the index in KEYS of its count
// hash, old status, new status, old status member, new status member
// (the members "" when the status stays), the index in KEYS of its due
// index, then dueArgs' five.
// Returns the 1-based positions of the obligations not written: changed
// since they were read (a negative position: gone).
var updateObligationsScript = goredis.NewScript(luaObligationStatus + luaKeepDue + `
local skipped = {}
for i = 1, #ARGV, 14 do
  local n = (i - 1) / 14 + 1
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur then
    skipped[#skipped + 1] = -n
  elseif cur ~= ARGV[i + 1] then
    skipped[#skipped + 1] = n
  else
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
    move_status(KEYS[2], KEYS[tonumber(ARGV[i + 3])], ARGV[i + 6], ARGV[i + 7], ARGV[i + 4], ARGV[i + 5])
    keep_due(KEYS[tonumber(ARGV[i + 8])], KEYS[3], ARGV[i + 9], ARGV[i + 10], ARGV[i + 11], ARGV[i + 12], ARGV[i + 13])
  end
end
return skipped
`)

// putConsentScript replaces a consent and moves it in the status index.
// KEYS: consent hash, consent:status, consent:idx, consent:bystatus.
// ARGV: key, JSON, encoded status (the status member's prefix).
var putConsentScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old and old ~= ARGV[3] then
  redis.call('ZREM', KEYS[4], old .. ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
redis.call('ZADD', KEYS[4], 0, ARGV[3] .. ARGV[1])
return 1
`)

// putPersonScript stores a person. KEYS: people, people:idx.
// ARGV: user id, JSON.
var putPersonScript = goredis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
`)

// deletePersonScript removes a person. KEYS: people, people:idx.
// ARGV: user id.
var deletePersonScript = goredis.NewScript(`
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`)
