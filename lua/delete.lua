#!lua
--[[ delete: remove every key of a session.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)
Returns  {1, user} when the session existed, {0, ''} when it did not (a retried delete is
         harmless); user is for the per-user index the client updates next
Event    deleted {type, sid, user, v, ts}   only when something was deleted
]]
--- @include "lib/session"

local f = redis.call('HMGET', KEYS[1], 'id', 'user', 'v')
local existed = redis.call('UNLINK', unpack(KEYS, 1, OWN_KEYS + 1))  -- freed off the main thread
if existed == 0 or not f[1] then return {0, ''} end
if KEYS[9] and redis.call('ZREM', KEYS[9], f[1]) == 1 then count_stat('deleted', 1) end
publish(ARGV[1], {type = 'deleted', sid = f[1], user = f[2], v = tonumber(f[3]) + 1, ts = now_ms()})
return {1, f[2] or ''}
