#!lua flags=allow-oom
--[[ read_touch: `read` that also refreshes the session's sliding TTL (touch_on_read=True).
KEYS, ARGV and Returns as read.lua. Publishes nothing and does not change the version: reading
is not a mutation, only a sign of life. The TTL slides in steps, as on append (lib/session).
Runs when Redis is out of memory (allow-oom): it only rewrites expiries and two meta fields,
so reading never fails for want of memory. No call id: a read is safe to repeat.
]]
--- @include "lib/session"
--- @include "lib/read"

local f = redis.call('HMGET', KEYS[1], 'ttl', 'deadline', 'expires')
if f[1] then  -- every session has a ttl: no ttl, no session
  local now = now_ms()
  local at = slide_ttl(f[3], ttl_of(f[1], f[2], now), now, {})
  if at then
    redis.call('HSET', KEYS[1], 'active', now, 'expires', at)
  else
    redis.call('HSET', KEYS[1], 'active', now)
  end
end
return read_session(ARGV[1], ARGV[2], ARGV[3])
