#!lua
--[[ edit: rewrite one window message in place (compare-and-set), keeping its id and seq.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] the message id as its body encodes it (msgpack bytes)
      [5] the session's `rw` (rewrites) when the client read the message: the edit applies only
          if no pop, delete_message, replace or edit happened since
      [6] new tokens   [7] new kind (0..3)   [8] new body
Returns  {v, seq, status}   status 1 edited; 0 no message with this id in the window;
         2 the window was rewritten since the client read it (nothing written: read, try again)
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta or the window is damaged
         RS_INVALID malformed arguments
Event    edited {type, sid, v, w, seq, n, tokens, ts}
The window's tokens move by the difference, and so does total_tokens. Cost: as delete_message
(one LRANGE of the window, no body decoded) plus one LSET.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs = KEYS[1], KEYS[2]
local call, dedup_ttl = call_args()
local id_field, body = ARGV[4], ARGV[8]
local expected_rw = int_arg(ARGV[5], 'rewrites')
local new_tokens = int_arg(ARGV[6], 'tokens')
local kind = int_arg(ARGV[7], 'kind')
if kind > 3 then fail('RS_INVALID', 'kind must be 0, 1, 2 or 3') end
if not id_field or id_field == '' or not body or body == '' then
  fail('RS_INVALID', 'the message id or the body is empty')
end
local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw', 'ttl', 'deadline', 'dr',
  'total_tokens')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local n, tokens, v = num(f[2], 'n'), num(f[3], 'tokens'), num(f[4], 'v')
local total_tokens = num(f[9], 'total_tokens')
if (tonumber(f[5]) or 0) ~= expected_rw then return {v, 0, 2} end
check_window(n)
local at, _, h = find_message(msgs, id_field)
if not at then return {v, 0, 0} end
local now = now_ms()
local ttl = ttl_of(f[6], f[7], now)

-- checks done: writes
redis.call('LSET', msgs, at, cmsgpack.pack({h[1], new_tokens, kind}) .. body)
tokens, v = tokens + new_tokens - h[2], v + 1
local started = record(call, {v, h[1], 1}, '', f[8], dedup_ttl, now)
rewrote(meta, v, call, started, f[5], n, tokens, now, ttl,
  {'total_tokens', total_tokens + new_tokens - h[2]})
publish(ARGV[1], {type = 'edited', sid = f[1], v = v, w = call, seq = h[1], n = n,
  tokens = tokens, ts = now})
return {v, h[1], 1}
