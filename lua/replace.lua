#!lua
--[[ replace: put a new list of messages in place of a session's whole window, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup window
      [4] max_messages  [5] max_tokens  [6] max_history   store defaults; meta overrides win
      [7] '1' = the old window moves to the archive; '0' = the old window and the archive are
          dropped (a fresh conversation)
      [8] k, the number of messages (0 empties the window), then 4 arguments per message:
          id, tokens (integer >= 0), kind (0..3), body
Returns  {v, first_seq, last_seq, n, tokens, trimmed, replaced}
         replaced: how many messages the old window held
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments (nothing written)
Event    replaced {type, sid, v, first_seq, seq, count, replaced, n, tokens, ts}
The old window moves to the archive like trimmed messages (capped at max_history; 0 = dropped
for good), or with ARGV[7] '0' the window and the archive are dropped. The new messages get new seqs after the session's last seq (seqs are never reused);
total_messages and total_tokens count them as appended. The new window is then trimmed by the
append's rules (limits, never the newest message, never starting on a tool result or a
continuation item); what is trimmed goes to the archive too. A retry returns the first reply.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel, call_id = ARGV[1], ARGV[2]
local dedup_window = int_arg(ARGV[3], 'dedup window')
local keep_old = ARGV[7] == '1'
if not keep_old and ARGV[7] ~= '0' then fail('RS_INVALID', "the archive flag must be '0' or '1'") end
local k = int_arg(ARGV[8], 'message count')
if call_id == '' then fail('RS_INVALID', 'call id is empty') end
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
  'max_history', 'total_messages', 'total_tokens', 'total_trimmed')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall_call(call_id)
if seen then return seen end
local max_messages = limit(f[6], ARGV[4])
local max_tokens = limit(f[7], ARGV[5])
local max_history = limit(f[8], ARGV[6])

-- checks done: writes. The old window goes first, whole, to the archive.
local old = tonumber(f[3])
if not keep_old then
  redis.call('DEL', arch)
elseif old > 0 and max_history > 0 then
  call_chunked('RPUSH', arch, redis.call('LRANGE', msgs, 0, -1))
end
redis.call('DEL', msgs)
local seq = tonumber(f[2])
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

local now = now_ms()
local v = tonumber(f[4]) + 1
local reply = {v, first_seq, seq, n, tokens, trimmed, old}
remember_call(call_id, reply, '', dedup_window)
rewrote(meta, v, f[5], n, tokens, now, {'seq', seq,
  'total_messages', tonumber(f[9]) + k, 'total_tokens', tonumber(f[10]) + added,
  'total_trimmed', tonumber(f[11]) + trimmed})
count_stat('messages', k)
count_stat('tokens', added)
count_stat('trimmed', trimmed)
publish(channel, {type = 'replaced', sid = f[1], v = v, first_seq = first_seq, seq = seq,
  count = k, replaced = old, n = n, tokens = tokens, ts = now})
return reply
