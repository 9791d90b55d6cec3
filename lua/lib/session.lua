-- Shared helpers, inlined where a script says `--- @include "lib/session"`.
--
-- Every write script takes the same KEYS, all sharing the session's {sid} hash tag:
--   KEYS[1] meta   HASH  the session's fields (id, user, name, v, seq, n, tokens, ttl, ...)
--   KEYS[2] msgs   LIST  the context window, oldest first
--   KEYS[3] arch   LIST  messages trimmed out of the window, oldest first, capped
--   KEYS[4] dedup  HASH  call id (an append's: its first message id) -> that call's reply
--   KEYS[5] dedup_prev   the previous generation of dedup (rotated by time: see remember)
--   KEYS[6] state  HASH  per-session variables
--   KEYS[7] lease  STRING summarization lease (own short TTL; expire_all leaves it alone)
--   KEYS[8] stats  HASH  counters of all sessions in this slot (shared: never expires)
--   KEYS[9] live   ZSET  sid -> expiry ms of the sessions in this slot (shared: never expires)
-- A stored message is a msgpack header [seq, tokens, kind] written here, followed by the
-- client's msgpack body, which Lua never decodes. kind: 0 plain, 1 assistant asking for
-- tool calls, 2 tool result, 3 continuation (an item that belongs to the turn before it, such
-- as a Responses function_call after a reasoning item). A window never starts on kind >= 2.

local KIND_TOOL_RESULT = 2

-- Raises a script error `CODE message`; redisession/_ops.py maps CODE to an exception.
local function fail(code, message)
  error({err = code .. ' ' .. message})
end

-- An integer as Redis and JSON want it. Lua 5.1 turns a number into text with '%.14g', which
-- runs glibc's floating-point printer: about 13% of an append's instructions went there
-- (callgrind, docs/append-cost.md). '%d' takes the integer path.
local function int_str(n)
  return string.format('%d', n)
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A non-negative integer from an ARGV string, or a script error naming the argument.
-- Capped at 2^40 so sums over a session stay exact integers in Lua's doubles (and in HINCRBY).
local MAX_INT = 1099511627776

local function int_arg(value, name)
  local n = tonumber(value)
  if n == nil or n < 0 or n ~= math.floor(n) or n > MAX_INT then
    fail('RS_INVALID', name .. ' must be an integer from 0 to 2^40, got ' .. tostring(value))
  end
  return n
end

-- Check-then-write: the meta fields a script relies on, read before its first write. A field
-- that is missing or not a number means the session is damaged (an evicted key, a tampered
-- import); the script fails with RS_CORRUPTED and writes nothing.
local function corrupted(what)
  fail('RS_CORRUPTED', what)
end

local function num(value, name)
  local n = tonumber(value)
  if n == nil or n ~= n or n == math.huge or n == -math.huge then
    corrupted('meta ' .. name .. ' is ' .. (value and ("'" .. tostring(value) .. "'") or 'missing')
      .. ', not a number')
  end
  return n
end

-- The per-session override stored in meta, else the store default given by the caller.
local function limit(override, default)
  if override ~= false and override ~= nil and override ~= '' then return num(override, 'limit') end
  return tonumber(default)
end

-- Idle TTL (ms) from meta's `ttl` (s), capped by its absolute `deadline` (ms, 0 = none).
local function ttl_of(ttl_s, deadline, now)
  local ttl = num(ttl_s, 'ttl') * 1000
  deadline = tonumber(deadline) or 0
  if deadline > 0 then
    ttl = math.min(ttl, math.max(1, deadline - now))
  end
  return ttl
end

local function session_ttl_ms(meta_key, now)
  local f = redis.call('HMGET', meta_key, 'ttl', 'deadline')
  return ttl_of(f[1], f[2], now)
end

-- The session's own keys (KEYS[1..OWN_KEYS]) expire together, at one absolute time (ms) that
-- meta's `expires` records: none is ever left without a TTL, and `TTL` reads the same on each.
-- The lease keeps its own short TTL; the shared stats keys never expire, and `live` records the
-- session's expiry so stats can count active and expired sessions without a SCAN.
local OWN_KEYS = 6

local function expire_keys(at)
  local at_s = int_str(at)
  for i = 1, OWN_KEYS do
    redis.call('PEXPIREAT', KEYS[i], at_s)
  end
  if KEYS[9] then
    redis.call('ZADD', KEYS[9], at_s, string.match(KEYS[1], '{(.-)}'))
  end
end

local function expire_all(ttl, now)
  local at = (now or now_ms()) + ttl
  expire_keys(at)
  redis.call('HSET', KEYS[1], 'expires', at)
end

-- The sliding TTL moves in steps, so a busy session does not pay eight writes per append to
-- push its expiry a few milliseconds: the new expiry `now + ttl` when it is at least a step past
-- the recorded one (or before it: a shorter TTL), else nil. A step is 1 s, or ttl/64 for TTLs
-- under 64 s, so a session never expires more than that much early.
local function expiry_due(recorded, ttl, now)
  local at = now + ttl
  local moved = at - (tonumber(recorded) or 0)
  if moved < 0 or moved >= math.min(1000, math.floor(ttl / 64)) then return at end
  return nil
end

-- The sliding TTL of a frequent call (append, a read with touch_on_read): every own key when
-- the expiry moves a step, else only `created`, the keys this call brought into being, which get
-- the recorded expiry. Returns the new expiry for meta's `expires` when it moved, else nil.
local function slide_ttl(recorded, ttl, now, created)
  local at = expiry_due(recorded, ttl, now)
  if at then
    expire_keys(at)
    return at
  end
  for _, key in ipairs(created) do redis.call('PEXPIREAT', key, recorded) end
  return nil
end

-- Adds to the slot's shared counters (KEYS[8], see docs/stats.md). Given `now` (ms), also to
-- the hour's bucket `h:<hour>:<field>` (hour = now / 3600000): one more HINCRBY. The first count
-- of a new bucket drops the slot's buckets HOURS_KEPT or more hours old (one HKEYS of a small
-- hash, about once an hour per slot and field), so the hash stays bounded.
local HOURS_KEPT = 26
local function count_stat(field, by, now)
  if not KEYS[8] or by == 0 then return end
  redis.call('HINCRBY', KEYS[8], field, int_str(by))
  if not now then return end
  local hour = math.floor(now / 3600000)
  if redis.call('HINCRBY', KEYS[8], 'h:' .. int_str(hour) .. ':' .. field,
    int_str(by)) ~= by then return end
  local old = {}
  for _, name in ipairs(redis.call('HKEYS', KEYS[8])) do
    local h = tonumber(string.match(name, '^h:(%d+):'))
    if h and h <= hour - HOURS_KEPT then old[#old + 1] = name end
  end
  if #old > 0 then redis.call('HDEL', KEYS[8], unpack(old)) end
end

-- Every write script: ARGV[1] events channel, ARGV[2] call id (32 lowercase hex digits, made by
-- the client once per API call and sent again unchanged on a retry), ARGV[3] dedup TTL (ms),
-- then its own arguments. Returns the call id and the TTL; raises RS_INVALID before any read.
local function call_args()
  local call, ttl = ARGV[2], tonumber(ARGV[3])
  if type(call) ~= 'string' or #call ~= 32 or string.find(call, '[^0-9a-f]') then
    fail('RS_INVALID', 'ARGV[2] must be a call id of 32 lowercase hex digits')
  end
  if not ttl or ttl < 1 or ttl ~= math.floor(ttl) then
    fail('RS_INVALID', 'ARGV[3] must be the dedup TTL in ms (an integer >= 1)')
  end
  return call, ttl
end

-- The window's length must be meta's n (O(1)): a list that was evicted, or grew or shrank behind
-- the scripts' back, would make every count and trim after it wrong.
local function check_window(n)
  local len = redis.call('LLEN', KEYS[2])
  if len ~= n then
    corrupted('the window holds ' .. len .. ' messages, meta n says ' .. n)
  end
end

-- Retries, by time: a call's reply is kept in dedup (KEYS[4]) under its id. Meta's `dr` is when
-- the current generation began; the first write at least `ttl` ms later renames dedup to
-- dedup_prev (KEYS[5], dropping the older one) and starts a new generation. An id written at t
-- into a generation begun at g <= t is renamed no earlier than g + ttl and dropped no earlier
-- than a full ttl after that rename, so it is found for at least ttl ms, whatever the number of
-- calls in between. Two HGETs to look up, one HSET to record (and a RENAME per ttl).
local function recall(id)
  return redis.call('HGET', KEYS[4], id) or redis.call('HGET', KEYS[5], id)
end

-- A busy session's generation holds every call of the last `dedup_ttl`: at 2 writes a second,
-- 240. Redis keeps a hash of up to hash-max-listpack-entries (512 by default) small fields as a
-- listpack, which each HGET scans and each new field reallocates whole, so the dedup lookup and
-- record cost grew with the call rate (66k of an append's 567k instructions at ~400 entries,
-- docs/append-cost.md). A generation found holding DEDUP_TABLE_AT entries or more gets one field
-- whose value is longer than any listpack value (hash-max-listpack-value, 64 bytes by default),
-- which makes Redis convert it to a hash table: O(1) per call from then on, at about twice the
-- memory per entry (116 against 62 bytes per message in `python -m benchmarks`' memory row,
-- where every message has its record). Below that, generations stay compact listpacks: a
-- quiet session's few calls, and a burst of a whole window (200 appends) in under dedup_ttl.
-- The check (HLEN) runs on one call in 16, picked by the call id's last hex digit (random).
-- The field's name starts with byte 0xFF, which no UTF-8 message id and no hex call id
-- contains, so no recall() ever finds it.
local DEDUP_TABLE_AT = 256
local DEDUP_TABLE_FIELD = '\255table'
local DEDUP_TABLE_NOTE = 'redisession: this field keeps the retry records a hash table (O(1) per '
  .. 'call) once a session is busy; see lib/session.lua remember()'

-- Records `reply` under `id`. `rotated` is meta's `dr` (nil: no generation yet). Returns the
-- new `dr` for meta (nil = unchanged) and the key this call brought into being (nil = none),
-- which needs the session's expiry.
local function remember(id, reply, rotated, ttl, now)
  local started, created = nil, nil
  rotated = tonumber(rotated)
  if not rotated then
    started, created = now, KEYS[4]
  elseif now - rotated >= ttl then
    -- pcall: RENAME fails when dedup is gone (cleared by hand, evicted); then the old
    -- generation goes and the new one starts empty
    local renamed = redis.pcall('RENAME', KEYS[4], KEYS[5])
    if type(renamed) == 'table' and renamed.err then redis.call('DEL', KEYS[5]) end
    started, created = now, KEYS[4]
  end
  redis.call('HSET', KEYS[4], id, reply)
  if string.byte(ARGV[2], 32) == 48 and redis.call('HLEN', KEYS[4]) >= DEDUP_TABLE_AT then
    redis.call('HSET', KEYS[4], DEDUP_TABLE_FIELD, DEDUP_TABLE_NOTE)
  end
  return started, created
end

-- A call already applied (same call id) returns its stored reply, the same as the first time:
-- the fields before the first newline are numbers, the rest (binary, if any) one string. A
-- reply of numbers only has no newline (`record` with no `rest`).
local function recalled(call)
  local seen = recall(call)
  if not seen then return nil end
  local head, rest = string.match(seen, '^([^\n]*)\n(.*)$')
  if not head then head, rest = seen, '' end
  local reply = {}
  for x in string.gmatch(head, '[^,]+') do reply[#reply + 1] = tonumber(x) end
  if rest ~= '' then reply[#reply + 1] = rest end
  return reply
end

-- remember() with the reply format `recalled` reads: `numbers` joined by commas, then a newline
-- and `rest` when given. Returns remember's `started`.
local function record(call, numbers, rest, rotated, dedup_ttl, now)
  local reply = table.concat(numbers, ',')
  if rest then reply = reply .. '\n' .. rest end
  return (remember(call, reply, rotated, dedup_ttl, now))
end

-- A write's meta stamp: the new version, the write tag `w` (this call's id: a server that lost
-- writes and took new ones reuses versions, never this random id) and, when remember() started
-- a generation, its time. Appends the field/value pairs to `fields`.
local function stamp(fields, v, call, started)
  fields[#fields + 1], fields[#fields + 2] = 'v', int_str(v)
  fields[#fields + 1], fields[#fields + 2] = 'w', call
  if started then fields[#fields + 1], fields[#fields + 2] = 'dr', int_str(started) end
  return fields
end

-- `cmd key items[from..to]` in chunks: Lua's unpack() fails past about 8000 values, which
-- would stop a script halfway through its writes. Chunks are even, so HSET pairs stay whole.
-- Returns the sum of the integer replies (e.g. how many fields HDEL removed).
local CHUNK = 1000
local function call_chunked(cmd, key, items, from, to)
  from, to = from or 1, to or #items
  local total = 0
  for i = from, to, CHUNK do
    local r = redis.call(cmd, key, unpack(items, i, math.min(i + CHUNK - 1, to)))
    if type(r) == 'number' then total = total + r end
  end
  return total
end

local function header(element)
  local _, h = cmsgpack.unpack_one(element)
  return h
end

-- header() of an element read from a list, checked: [seq, tokens, kind] all numbers, or
-- RS_CORRUPTED naming where it was (a damaged element must fail a script before its writes).
-- `index`, when given, is appended to `where` only if the header is bad: a number joined to
-- a string goes through '%.14g' (see int_str), which a hot loop should not pay for nothing.
local function checked_header(element, where, index)
  local ok, h = pcall(header, element)
  if not ok or type(h) ~= 'table' or type(h[1]) ~= 'number' or type(h[2]) ~= 'number'
      or type(h[3]) ~= 'number' then
    if index then where = where .. ' ' .. int_str(index) end
    corrupted('the message at ' .. where .. ' has no readable header')
  end
  return h
end

-- `channel` is the events argument of a script: '' (no events), the store's channel, or the
-- store's channel, a space and the session's own channel, which gets SPUBLISH (sharded pub/sub:
-- it carries the session's hash tag, so it stays on the script's node on Cluster).
local function publish_json(channel, payload)
  if channel == '' then return end
  local global, own = string.match(channel, '^(%S*) ?(%S*)$')
  if global ~= '' then redis.call('PUBLISH', global, payload) end
  if own ~= '' then redis.call('SPUBLISH', own, payload) end
end

local function publish(channel, event)
  if channel == '' then return end
  publish_json(channel, cjson.encode(event))
end
