#!lua flags=allow-oom
--[[ delete: remove every key of a session.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
Returns  {1, user} when the session existed, {0, ''} when it did not; a retry (same call id)
         returns the first call's reply, and deletes nothing (not a session created since)
         user is for the per-user index the client updates next
Event    deleted {type, sid, user, v, w, ts}   only when something was deleted
Runs when Redis is out of memory (allow-oom): deleting must always be possible. The retry
records (dedup, dedup_prev) outlive the session by the dedup TTL, holding this call's reply, so a
late retry is recognised; a create of the same id keeps them (create.lua).
]]
--- @include "lib/session"

local call, dedup_ttl = call_args()
local seen = recall(call)
if seen then
  local existed, user = string.match(seen, '^(%d)(.*)$')
  return {tonumber(existed), user}
end
local f = redis.call('HMGET', KEYS[1], 'id', 'user', 'v', 'dr')
local existed = redis.call('UNLINK', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7])  -- freed off the main thread
if existed == 0 or not f[1] then return {0, ''} end
local now = now_ms()
remember(call, '1' .. (f[2] or ''), f[4], dedup_ttl, now)
redis.call('PEXPIREAT', KEYS[4], now + dedup_ttl)
redis.call('PEXPIREAT', KEYS[5], now + dedup_ttl)
if KEYS[9] and redis.call('ZREM', KEYS[9], f[1]) == 1 then count_stat('deleted', 1) end
publish(ARGV[1], {type = 'deleted', sid = f[1], user = f[2], v = (tonumber(f[3]) or 0) + 1,
  w = call, ts = now})
return {1, f[2] or ''}
