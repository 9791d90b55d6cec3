#!lua
--[[ replace: put a new list of messages in place of a session's whole window, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] max_messages  [5] max_tokens  [6] max_history   store defaults; meta overrides win
      [7] '1' = the old window moves to the archive; '0' = the old window and the archive are
          dropped (a fresh conversation)
      [8] k, the number of messages (0 empties the window), then 4 arguments per message:
          id, tokens (integer >= 0), kind (0..3), body
Returns  {v, first_seq, last_seq, n, tokens, trimmed, replaced}
         replaced: how many messages the old window held
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments (nothing written)
         RS_CORRUPTED meta or the window is damaged
Event    replaced {type, sid, v, w, first_seq, seq, count, replaced, n, tokens, ts}
The old window moves to the archive like trimmed messages (capped at max_history; 0 = dropped
for good), or with ARGV[7] '0' the window and the archive are dropped. The new messages get new seqs after the session's last seq (seqs are never reused);
total_messages and total_tokens count them as appended. The new window is then trimmed by the
append's rules (limits, never the newest message, never starting on a tool result or a
continuation item); what is trimmed goes to the archive too. A retry returns the first reply.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local call, dedup_ttl = call_args()
local keep_old = ARGV[7] == '1'
if not keep_old and ARGV[7] ~= '0' then fail('RS_INVALID', "the archive flag must be '0' or '1'") end
local k = int_arg(ARGV[8], 'message count')
if #ARGV ~= 8 + 4 * k then
  fail('RS_INVALID', 'expected ' .. (8 + 4 * k) .. ' arguments for ' .. k .. ' messages, got ' .. #ARGV)
end
local toks, kinds, added = {}, {}, 0
for i = 1, k do
  local at = 8 + (i - 1) * 4
  if ARGV[at + 1] == '' then fail('RS_INVALID', 'message id is empty') end
  toks[i] = int_arg(ARGV[at + 2], 'tokens')
  kinds[i] = int_arg(ARGV[at + 3], 'kind')
  if kinds[i] > 3 then fail('RS_INVALID', 'kind must be 0, 1, 2 or 3') end
  added = added + toks[i]
end

local f = redis.call('HMGET', meta, 'id', 'seq', 'n', 'v', 'rw', 'max_messages', 'max_tokens',
  'max_history', 'total_messages', 'total_tokens', 'total_trimmed', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local old = num(f[3], 'n')
check_window(old)
local seq, v = num(f[2], 'seq'), num(f[4], 'v') + 1
local totals = {num(f[9], 'total_messages'), num(f[10], 'total_tokens'), num(f[11], 'total_trimmed')}
local now = now_ms()
local ttl = ttl_of(f[12], f[13], now)
local max_messages = limit(f[6], ARGV[4])
local max_tokens = limit(f[7], ARGV[5])
local max_history = limit(f[8], ARGV[6])

-- checks done: writes. The old window goes first, whole, to the archive.
if not keep_old then
  redis.call('DEL', arch)
elseif old > 0 and max_history > 0 then
  call_chunked('RPUSH', arch, redis.call('LRANGE', msgs, 0, -1))
end
redis.call('DEL', msgs)
local first_seq = seq + 1
local elements = {}
for i = 1, k do
  seq = seq + 1
  elements[i] = cmsgpack.pack({seq, toks[i], kinds[i]}) .. ARGV[8 + (i - 1) * 4 + 4]
end
if k > 0 then call_chunked('RPUSH', msgs, elements) end

-- Trim as append does: the limits (never the newest), then whatever cannot start a window.
local n, tokens, trimmed, head = k, added, 0, 1
while head <= k do
  local over = n > 1 and (n > max_messages or tokens > max_tokens)
  if not over and kinds[head] < 2 then break end
  n, tokens, trimmed = n - 1, tokens - toks[head], trimmed + 1
  head = head + 1
end
if trimmed > 0 then
  redis.call('LTRIM', msgs, trimmed, -1)
  if max_history > 0 then call_chunked('RPUSH', arch, elements, 1, trimmed) end
end
if max_history > 0 then redis.call('LTRIM', arch, -max_history, -1) end

local reply = {v, first_seq, seq, n, tokens, trimmed, old}
local started = record(call, reply, '', f[14], dedup_ttl, now)
rewrote(meta, v, call, started, f[5], n, tokens, now, ttl, {'seq', seq,
  'total_messages', totals[1] + k, 'total_tokens', totals[2] + added,
  'total_trimmed', totals[3] + trimmed})
count_stat('messages', k)
count_stat('tokens', added)
count_stat('trimmed', trimmed)
publish(ARGV[1], {type = 'replaced', sid = f[1], v = v, w = call, first_seq = first_seq, seq = seq,
  count = k, replaced = old, n = n, tokens = tokens, ts = now})
return reply
