#!lua
--[[ edit: rewrite one window message in place (compare-and-set), keeping its id and seq.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup window
      [4] the message id as its body encodes it (msgpack bytes)
      [5] the session's `rw` (rewrites) when the client read the message: the edit applies only
          if no pop, delete_message, replace or edit happened since
      [6] new tokens   [7] new kind (0..3)   [8] new body
Returns  {v, seq, status}   status 1 edited; 0 no message with this id in the window;
         2 the window was rewritten since the client read it (nothing written: read, try again)
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments
Event    edited {type, sid, v, seq, n, tokens, ts}
The window's tokens move by the difference, and so does total_tokens. Cost: as delete_message
(one LRANGE of the window, no body decoded) plus one LSET.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs = KEYS[1], KEYS[2]
local channel, call_id, id_field, body = ARGV[1], ARGV[2], ARGV[4], ARGV[8]
local expected_rw = int_arg(ARGV[5], 'rewrites')
local dedup_window = int_arg(ARGV[3], 'dedup window')
local new_tokens = int_arg(ARGV[6], 'tokens')
local kind = int_arg(ARGV[7], 'kind')
if kind > 3 then fail('RS_INVALID', 'kind must be 0, 1, 2 or 3') end
if call_id == '' or id_field == '' or body == '' then
  fail('RS_INVALID', 'call id, message id or body is empty')
end

local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw', 'total_tokens')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall_call(call_id)
if seen then return seen end
if (tonumber(f[5]) or 0) ~= expected_rw then return {tonumber(f[4]), 0, 2} end
local at, _, h = find_message(msgs, id_field)
if not at then return {tonumber(f[4]), 0, 0} end

-- checks done: writes
redis.call('LSET', msgs, at, cmsgpack.pack({h[1], new_tokens, kind}) .. body)
local now = now_ms()
local tokens = tonumber(f[3]) + new_tokens - h[2]
local v = tonumber(f[4]) + 1
remember_call(call_id, {v, h[1], 1}, '', dedup_window)
rewrote(meta, v, f[5], tonumber(f[2]), tokens, now,
  {'total_tokens', tonumber(f[6]) + new_tokens - h[2]})
publish(channel, {type = 'edited', sid = f[1], v = v, seq = h[1], n = tonumber(f[2]),
  tokens = tokens, ts = now})
return {v, h[1], 1}
