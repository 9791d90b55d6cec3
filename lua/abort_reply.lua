#!lua flags=allow-oom
--[[ abort_reply: drop a streaming reply; nothing of it reaches the session's messages.
KEYS  [1] reply  [2] text  [3] replies   (lib/reply)
ARGV  [1] events channel(s) ('' = none)   [2] call id   [3] dedup TTL ms (call_args; unused)
      [4] rid
Returns  1 if the reply was dropped, 0 if it was not streaming (already committed, aborted or
         replaced: running this twice is safe)
Events   reply_aborted {type, sid, rid, off, ts}
]]
--- @include "lib/session"
--- @include "lib/reply"

local reply, text, replies = KEYS[1], KEYS[2], KEYS[3]
call_args()
local channel, rid = ARGV[1], ARGV[4]
local r = redis.call('HMGET', reply, 'rid', 'sid')
if r[1] ~= rid then return 0 end
local off = redis.call('STRLEN', text)
end_reply(reply, text, replies, r[2], rid)
publish(channel, {type = 'reply_aborted', sid = r[2], rid = rid, off = off, ts = now_ms()})
return 1
