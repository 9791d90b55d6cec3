#!lua flags=allow-oom
--[[ reap_replies: report every reply of one slot that passed its deadline (from sweep()).
KEYS  [1] replies  ZSET '<sid>/<rid>' -> sweep record ms, at most half a timeout past the
      reply's deadline (lib/reply), in the slot it counts
ARGV  [1] events channel ('' = none)
      [2], [3] per-session channel = ARGV[2] .. sid .. ARGV[3] ('' = none)
Returns  {'<sid>/<rid>', ...} the replies this call reported
Events   reply_abandoned {type, sid, rid, ts}  once per reply, on the store and session channels
The reply's keys are not touched (they expire at deadline + timeout); a begin_reply that finds
them later ends them without a second event, because this call removed the record.
]]
--- @include "lib/session"

local now = now_ms()
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
if #gone == 0 then return gone end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, member in ipairs(gone) do
  local sid, rid = string.match(member, '^(.*)/(.*)$')
  local own = ''
  if ARGV[2] ~= '' then own = ' ' .. ARGV[2] .. sid .. ARGV[3] end
  publish(ARGV[1] .. own, {type = 'reply_abandoned', sid = sid, rid = rid, ts = now})
end
return gone
