#!lua
--[[ deactivate: make a session inactive: readable, refusing appends and replies, with its own TTL.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] idle TTL seconds while inactive ('' = keep the session's TTL)
Returns  {v, changed}: changed = 0 when the session was inactive already (nothing written); a
         retry (same call id) returns the first call's reply and writes nothing
Errors   RS_NOT_FOUND no such session;  RS_INVALID a malformed TTL;  RS_CORRUPTED meta is damaged
Event    deactivated {type, sid, v, w, ttl, ts}
The active TTL is kept in meta `ttl_active` for reactivate. A reply still streaming cannot commit
(append refuses an inactive session); it is aborted or abandoned.
]]
--- @include "lib/session"

local meta = KEYS[1]
local call, dedup_ttl = call_args()
local new_ttl = ARGV[4]
if new_ttl ~= '' and int_arg(new_ttl, 'ttl') == 0 then fail('RS_INVALID', 'ttl must be positive') end
local f = redis.call('HMGET', meta, 'id', 'state', 'ttl', 'v', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local v = num(f[4], 'v')
if f[2] == 'inactive' then return {v, 0} end
num(f[3], 'ttl')

local now = now_ms()
v = v + 1
if new_ttl == '' then new_ttl = f[3] end
local started = record(call, {v, 1}, nil, f[5], dedup_ttl, now)
redis.call('HSET', meta, 'state', 'inactive', 'ttl_active', f[3], 'ttl', new_ttl,
  unpack(stamp({}, v, call, started)))
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'deactivated', sid = f[1], v = v, w = call, ttl = tonumber(new_ttl),
  ts = now})
return {v, 1}
