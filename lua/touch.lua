#!lua
--[[ touch: refresh the sliding TTL of every key of a session, optionally setting a new idle TTL.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)  [2] new idle TTL seconds ('' = keep)  [3] publish 'touched' (0/1)
Returns  remaining TTL in ms
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed TTL
Event    touched {type, sid, v, ttl, ts}   only when ARGV[3] is 1
The version does not change: a touch keeps content and limits as they were.
]]
--- @include "lib/session"

local meta = KEYS[1]
if ARGV[2] ~= '' and int_arg(ARGV[2], 'ttl') == 0 then fail('RS_INVALID', 'ttl must be positive') end
local f = redis.call('HMGET', meta, 'id', 'v')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end

local now = now_ms()
if ARGV[2] ~= '' then redis.call('HSET', meta, 'ttl', ARGV[2]) end
redis.call('HSET', meta, 'active', now)
local ttl = session_ttl_ms(meta, now)
expire_all(ttl)
if ARGV[3] == '1' then
  publish(ARGV[1], {type = 'touched', sid = f[1], v = tonumber(f[2]), ttl = ttl, ts = now})
end
return ttl
