#!lua
--[[ set_state: set per-session variables in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2..] field, JSON value, field, JSON value, ...
Returns  the session's new version
Errors   RS_NOT_FOUND no such session;  RS_INVALID no pairs, or an odd number of arguments
Event    state_updated {type, sid, v, keys, ts}
Values are JSON text written by the client; Lua stores them as they are. Running it twice
writes the same values again (and bumps the version once more).
]]
--- @include "lib/session"

if #ARGV < 3 or (#ARGV - 1) % 2 ~= 0 then
  fail('RS_INVALID', 'set_state needs field/value pairs, got ' .. (#ARGV - 1) .. ' arguments')
end
local f = redis.call('HMGET', KEYS[1], 'id')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end

local now = now_ms()
local names = {}
for i = 2, #ARGV, 2 do names[#names + 1] = ARGV[i] end
call_chunked('HSET', KEYS[6], ARGV, 2)
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
expire_all(session_ttl_ms(KEYS[1], now), now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, keys = names, ts = now})
return v
