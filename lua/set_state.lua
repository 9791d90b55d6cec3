#!lua
--[[ set_state: set per-session variables in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4..] field, JSON value, field, JSON value, ...
Returns  the session's new version; a retry (same call id) returns the first call's version and
         writes nothing (so it cannot undo a later set_state of the same field)
Errors   RS_NOT_FOUND no such session;  RS_INVALID no pairs, or an odd number of arguments
         RS_CORRUPTED meta is damaged
Event    state_updated {type, sid, v, w, keys, ts}
Values are JSON text written by the client; Lua stores them as they are.
]]
--- @include "lib/session"

local call, dedup_ttl = call_args()
if #ARGV < 5 or (#ARGV - 3) % 2 ~= 0 then
  fail('RS_INVALID', 'set_state needs field/value pairs, got ' .. (#ARGV - 3) .. ' arguments')
end
local f = redis.call('HMGET', KEYS[1], 'id', 'v', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall(call)
if seen then return tonumber(seen) end
local v = num(f[2], 'v') + 1
local now = now_ms()
local ttl = ttl_of(f[3], f[4], now)

local names = {}
for i = 4, #ARGV, 2 do names[#names + 1] = ARGV[i] end
call_chunked('HSET', KEYS[6], ARGV, 4)
local started = remember(call, v, f[5], dedup_ttl, now)
redis.call('HSET', KEYS[1], unpack(stamp({}, v, call, started)))
expire_all(ttl, now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, w = call, keys = names, ts = now})
return v
