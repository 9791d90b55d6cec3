#!lua
--[[ create: make a new, empty session.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] session id   [5] user id ('' = none)   [6] name   [7] metadata JSON ('' = none)
      [8] idle TTL seconds (> 0)   [9] lifetime seconds (0 = none)
      [10] max_messages  [11] max_tokens  [12] max_history  (per-session overrides, '' = default)
      [13] exist_ok: '1' = a session with this id is returned as it is (no error, no write)
Returns  {meta as a flat HGETALL list, remaining TTL ms}; a retry of the same call (same call id)
         returns the session as it is now and writes nothing
Errors   RS_EXISTS a session with this id exists (created by another call) and exist_ok is not '1'
         RS_INVALID an argument is malformed
Event    created {type, sid, user, v, w, ts}
         expired {type, sid, ts}   for up to 8 other sessions of this slot found past their
         expiry in `live` (lib/expiry): the index stays bounded without sweep()
No meta means no session: keys a dead session left behind (an evicted meta, a crash of an older
version) are deleted first, so the new session starts clean. Retry records (dedup) are kept:
they name calls, not content, and a late retry of a call made before must still be recognised.
]]
--- @include "lib/session"
--- @include "lib/expiry"

local meta = KEYS[1]
local channel, sid, user, name, metadata = ARGV[1], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local call, dedup_ttl = call_args()
local ttl = int_arg(ARGV[8], 'ttl')
local lifetime = int_arg(ARGV[9], 'lifetime')
if ttl == 0 then fail('RS_INVALID', 'ttl must be positive') end
for i = 10, 12 do
  if ARGV[i] ~= '' then int_arg(ARGV[i], 'limit') end
end

if redis.call('EXISTS', meta) == 1 then
  if ARGV[13] ~= '1' and not recall(call) then
    fail('RS_EXISTS', 'session ' .. sid .. ' already exists')
  end
  return {redis.call('HGETALL', meta), redis.call('PTTL', meta)}
end

local now = now_ms()
local deadline = 0
if lifetime > 0 then deadline = now + lifetime * 1000 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[6], KEYS[7])  -- a dead session's leftovers
local started = remember(call, '1', nil, dedup_ttl, now)
local fields = stamp({'id', sid, 'user', user, 'name', name, 'metadata', metadata,
  'created', now, 'active', now, 'ttl', ttl, 'deadline', deadline,
  'seq', 0, 'n', 0, 'tokens', 0, 'total_messages', 0, 'total_tokens', 0, 'total_trimmed', 0},
  1, call, started)
local names = {'max_messages', 'max_tokens', 'max_history'}
for i = 1, 3 do
  if ARGV[9 + i] ~= '' then fields[#fields + 1], fields[#fields + 2] = names[i], ARGV[9 + i] end
end
redis.call('HSET', meta, unpack(fields))
expire_all(ttl_of(ttl, deadline, now), now)
count_stat('created', 1)
publish(channel, {type = 'created', sid = sid, user = user, v = 1, w = call, ts = now})
if KEYS[9] then
  local head, tail = own_affixes(channel, sid)
  expire_due(KEYS[9], KEYS[8], string.match(channel, '^(%S*)'), head, tail, 8, now)
end
return {redis.call('HGETALL', meta), redis.call('PTTL', meta)}
