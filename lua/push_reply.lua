#!lua
--[[ push_reply: add a delta to a streaming reply and publish it with its offset.
KEYS  [1] reply  [2] text  [3] replies   (lib/reply)
ARGV  [1] the session's own (sharded) channel ('' = publish nothing)   [2] call id
      [3] dedup TTL ms (lib/session call_args; unused: a retry is recognised by its push number)
      [4] rid   [5] n: this push's number (1, 2, ...), or 0 for a keepalive (deadline only)
      [6] text delta (UTF-8)   [7] tool-call deltas as a JSON array ('' = none)
      [8] timeout ms: the new deadline is now + timeout
Returns  {n, off, dl}: pushes so far, the text's length in bytes, the deadline (ms)
         A retry of a push already applied (n at or below the stored count) writes nothing and
         returns the current figures, so a delta is never stored twice.
Errors   RS_GONE the reply is not streaming (committed, aborted, abandoned, or timed out)
         RS_INVALID malformed arguments, or a push number that skips one
Events   reply_delta {type, sid, rid, push, off, text, tc?, dl, ts}  on the session channel only (SPUBLISH):
         off is the byte offset of text in the reply, push its number (followers use both)
]]
--- @include "lib/session"
--- @include "lib/reply"

local reply, text, replies = KEYS[1], KEYS[2], KEYS[3]
call_args()
local channel, rid, delta, tc = ARGV[1], ARGV[4], ARGV[6], ARGV[7]
local n = int_arg(ARGV[5], 'push number')
local timeout = int_arg(ARGV[8], 'timeout')
if timeout == 0 then fail('RS_INVALID', 'timeout must be positive') end

local r = redis.call('HMGET', reply, 'rid', 'n', 'dl', 'sid', 'tc', 'z')
if r[1] ~= rid then
  fail('RS_GONE', 'reply ' .. rid .. ' is not streaming (committed, aborted or abandoned)')
end
local stored = tonumber(r[2])
if n > 0 and n <= stored then
  return {stored, redis.call('STRLEN', text), tonumber(r[3])}
end
local now = now_ms()
if tonumber(r[3]) < now then fail('RS_GONE', 'reply ' .. rid .. ' timed out (abandoned)') end
if n > stored + 1 then
  fail('RS_INVALID', 'push ' .. n .. ' after ' .. stored .. ': a push is missing')
end

-- Checks done; writes. APPEND answers the new length, so the offset costs no STRLEN.
local dl = now + timeout
local fields = {'dl', dl}
local off, after
if n > 0 and delta ~= '' then
  after = redis.call('APPEND', text, delta)
  off = after - #delta
else
  off = redis.call('STRLEN', text)
  after = off
end
if n > 0 then
  fields[3], fields[4] = 'n', n
  if tc ~= '' then fields[5], fields[6] = 'tc', (r[5] or '') .. tc .. '\n' end
  stored = n
end
-- The sweep's record and the keys' expiry move in steps (lib/reply step_due), not per push.
local z = step_due(r[6], dl, timeout)
if z then
  fields[#fields + 1], fields[#fields + 2] = 'z', z
  step_expiry(reply, text, replies, r[4], rid, z, timeout)
end
redis.call('HSET', reply, unpack(fields))
if n > 0 and channel ~= '' then
  local event = {type = 'reply_delta', sid = r[4], rid = rid, push = n, off = off, text = delta,
    dl = dl, ts = now}
  if tc ~= '' then event.tc = tc end
  redis.call('SPUBLISH', channel, cjson.encode(event))
end
return {stored, after, dl}
