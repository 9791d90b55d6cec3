#!lua
--[[ reactivate: make an inactive session active again, with the TTL it had before.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
Returns  {v, changed}: changed = 0 when the session was active already (nothing written); a
         retry (same call id) returns the first call's reply and writes nothing
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta is damaged
Event    reactivated {type, sid, v, w, ttl, ts}
]]
--- @include "lib/session"

local meta = KEYS[1]
local call, dedup_ttl = call_args()
local f = redis.call('HMGET', meta, 'id', 'state', 'ttl_active', 'v', 'ttl', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local v = num(f[4], 'v')
if f[2] ~= 'inactive' then return {v, 0} end
local ttl = f[3] or f[5]
num(ttl, 'ttl')

local now = now_ms()
v = v + 1
local started = record(call, {v, 1}, nil, f[6], dedup_ttl, now)
redis.call('HSET', meta, 'state', 'active', 'ttl', ttl, unpack(stamp({}, v, call, started)))
redis.call('HDEL', meta, 'ttl_active')
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'reactivated', sid = f[1], v = v, w = call, ttl = tonumber(ttl),
  ts = now})
return {v, 1}
