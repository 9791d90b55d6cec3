#!lua
--[[ delete: remove every key of a session.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state
ARGV  [1] events channel ('' = none)
Returns  1 when the session existed, 0 when it did not (so a retried delete is harmless)
Event    deleted {type, sid, user, v, ts}   only when something was deleted
]]
--- @include "lib/session"

local f = redis.call('HMGET', KEYS[1], 'id', 'user', 'v')
local existed = redis.call('DEL', unpack(KEYS))
if existed == 0 or not f[1] then return 0 end
publish(ARGV[1], {type = 'deleted', sid = f[1], user = f[2], v = tonumber(f[3]) + 1, ts = now_ms()})
return 1
