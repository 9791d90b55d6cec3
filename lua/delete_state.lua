#!lua
--[[ delete_state: remove per-session variables.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2..] field names (at least one)
Returns  {v, number of fields that existed}
Errors   RS_NOT_FOUND no such session;  RS_INVALID no field names
Event    state_updated {type, sid, v, keys, deleted = true, ts}
]]
--- @include "lib/session"

if #ARGV < 2 then fail('RS_INVALID', 'delete_state needs at least one field name') end
local f = redis.call('HMGET', KEYS[1], 'id')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end

local now = now_ms()
local names = {}
for i = 2, #ARGV do names[#names + 1] = ARGV[i] end
local removed = call_chunked('HDEL', KEYS[6], names)
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
expire_all(session_ttl_ms(KEYS[1], now), now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, keys = names, deleted = true,
  ts = now})
return {v, removed}
