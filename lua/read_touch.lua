#!lua
--[[ read_touch: `read` that also refreshes the session's sliding TTL (touch_on_read=True).
KEYS, ARGV and Returns as read.lua. Publishes nothing and does not change the version: reading
is not a mutation, only a sign of life.
]]
--- @include "lib/session"
--- @include "lib/read"

if redis.call('EXISTS', KEYS[1]) == 1 then
  local now = now_ms()
  redis.call('HSET', KEYS[1], 'active', now)
  expire_all(session_ttl_ms(KEYS[1], now), now)
end
return read_session(ARGV[1], ARGV[2])
