#!lua flags=no-writes
--[[ reply_state: the session's streaming reply as it stands (runs on replicas too).
KEYS  [1] reply  [2] text   (lib/reply)
ARGV  none
Returns  {now ms, rid, role, name, n, dl, started, tc, text}  or {now ms} when no reply streams
         (the server's clock, so a follower judges the deadline by the clock that set it)
]]
--- @include "lib/session"

local now = now_ms()
local r = redis.call('HMGET', KEYS[1], 'rid', 'role', 'name', 'n', 'dl', 'started', 'tc')
if not r[1] then return {now} end
return {now, r[1], r[2], r[3] or '', tonumber(r[4]), tonumber(r[5]), tonumber(r[6]), r[7] or '',
  redis.call('GET', KEYS[2]) or ''}
