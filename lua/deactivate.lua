#!lua
--[[ deactivate: make a session inactive: readable, refusing appends and replies, with its own TTL.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] idle TTL seconds while inactive
      ('' = keep the session's TTL)
Returns  {v, changed}: changed = 0 when the session was inactive already (nothing written)
Errors   RS_NOT_FOUND no such session;  RS_INVALID a malformed TTL
Event    deactivated {type, sid, v, ttl, ts}
The active TTL is kept in meta `ttl_active` for reactivate. A reply still streaming cannot commit
(append refuses an inactive session); it is aborted or abandoned.
]]
--- @include "lib/session"

local meta = KEYS[1]
local new_ttl = ARGV[3]
if new_ttl ~= '' and int_arg(new_ttl, 'ttl') == 0 then fail('RS_INVALID', 'ttl must be positive') end
local f = redis.call('HMGET', meta, 'id', 'state', 'ttl', 'v')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
if f[2] == 'inactive' then return {tonumber(f[4]), 0} end

local now = now_ms()
local v = tonumber(f[4]) + 1
if new_ttl == '' then new_ttl = f[3] end
redis.call('HSET', meta, 'state', 'inactive', 'ttl_active', f[3], 'ttl', new_ttl, 'v', v)
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'deactivated', sid = f[1], v = v, ttl = tonumber(new_ttl), ts = now})
return {v, 1}
