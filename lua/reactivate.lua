#!lua
--[[ reactivate: make an inactive session active again, with the TTL it had before.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id
Returns  {v, changed}: changed = 0 when the session was active already (nothing written)
Errors   RS_NOT_FOUND no such session
Event    reactivated {type, sid, v, ttl, ts}
]]
--- @include "lib/session"

local meta = KEYS[1]
local f = redis.call('HMGET', meta, 'id', 'state', 'ttl_active', 'v', 'ttl')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
if f[2] ~= 'inactive' then return {tonumber(f[4]), 0} end

local now = now_ms()
local v = tonumber(f[4]) + 1
local ttl = f[3] or f[5]
redis.call('HSET', meta, 'state', 'active', 'ttl', ttl, 'v', v)
redis.call('HDEL', meta, 'ttl_active')
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'reactivated', sid = f[1], v = v, ttl = tonumber(ttl), ts = now})
return {v, 1}
