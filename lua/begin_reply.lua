#!lua
--[[ begin_reply: start a streaming reply of a session (lib/reply describes its keys).
KEYS  [1] meta  [2] reply  [3] text  [4] replies   (the session's, and its slot's replies ZSET)
ARGV  [1] events channel(s) ('' = none; see publish in lib/session)   [2] call id
      [3] dedup TTL ms (lib/session call_args; unused: a retry is recognised by its rid)
      [4] rid: 32 lowercase hex, the id of the message the reply becomes   [5] role
      [6] name ('' = none)   [7] timeout ms: the reply is abandoned this long after its last push
Returns  {rid, deadline ms, n, off}: pushes and bytes so far (0, 0 for a new reply; a retry of
         this call, same rid, gets the reply's current figures and writes nothing)
Errors   RS_NOT_FOUND no such session;  RS_INACTIVE the session is deactivated
         RS_BUSY another reply of this session is streaming (before its deadline)
         RS_INVALID malformed arguments
Events   reply_abandoned {type, sid, rid, off, ts}  a previous reply found past its deadline
         reply_started   {type, sid, rid, role, dl, ts}
Only one reply streams per session: a second begin_reply fails RS_BUSY until the first commits,
aborts, or passes its deadline (then this call reports it abandoned and replaces it).
]]
--- @include "lib/session"
--- @include "lib/reply"

local meta, reply, text, replies = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
call_args()
local channel, rid, role, name = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local timeout = int_arg(ARGV[7], 'timeout')
if timeout == 0 then fail('RS_INVALID', 'timeout must be positive') end
if #rid ~= 32 or not string.match(rid, '^[0-9a-f]+$') then
  fail('RS_INVALID', 'reply id must be 32 lowercase hex digits')
end
if role == '' then fail('RS_INVALID', 'role is empty') end

local f = redis.call('HMGET', meta, 'id', 'state')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local sid = f[1]
if f[2] == 'inactive' then fail('RS_INACTIVE', 'the session is deactivated') end
local now = now_ms()
local r = redis.call('HMGET', reply, 'rid', 'n', 'dl')
if r[1] == rid then
  return {rid, tonumber(r[3]), tonumber(r[2]), redis.call('STRLEN', text)}
end
if r[1] and tonumber(r[3]) >= now then
  fail('RS_BUSY', 'reply ' .. r[1] .. ' streams until ' .. r[3] .. ' ms')
end

-- Checks done; writes.
if r[1] then abandon_reply(reply, text, replies, sid, r[1], channel, now) end
local dl = now + timeout
local z = step_due(nil, dl, timeout)
redis.call('HSET', reply, 'rid', rid, 'sid', sid, 'role', role, 'name', name, 'n', 0, 'dl', dl,
  'started', now, 'z', z)
redis.call('SET', text, '')
step_expiry(reply, text, replies, sid, rid, z, timeout)
publish(channel, {type = 'reply_started', sid = sid, rid = rid, role = role, dl = dl, ts = now})
return {rid, dl, 0, 0}
