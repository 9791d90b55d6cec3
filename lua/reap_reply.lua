#!lua flags=allow-oom
--[[ reap_reply: report a session's reply abandoned if it is past its deadline.
KEYS  [1] reply  [2] text  [3] replies   (lib/reply)
ARGV  [1] events channel(s) ('' = none)   [2] call id   [3] dedup TTL ms (call_args; unused)
      [4] rid
Returns  'live' (still streaming), 'abandoned' (past its deadline: ended now, reported once
         whoever reaps) or 'gone' (no such reply streams: committed, aborted or ended already)
Events   reply_abandoned {type, sid, rid, off, ts}  unless the sweep reported it already
]]
--- @include "lib/session"
--- @include "lib/reply"

local reply, text, replies = KEYS[1], KEYS[2], KEYS[3]
call_args()
local channel, rid = ARGV[1], ARGV[4]
local r = redis.call('HMGET', reply, 'rid', 'sid', 'dl')
if r[1] ~= rid then return 'gone' end
local now = now_ms()
if tonumber(r[3]) >= now then return 'live' end
abandon_reply(reply, text, replies, r[2], rid, channel, now)
return 'abandoned'
