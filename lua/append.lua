#!lua
--[[ append: add messages to a session's window and trim it to its limits, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)
      [2] max_messages  [3] max_tokens  [4] max_history   store defaults; meta overrides win
      [5] dedup window: append calls remembered for retries (at least this many, at most twice)
      [6] name hint: the session's name if it has none yet ('' = none)
      [7] k, the number of messages, then 4 arguments per message:
          id, tokens (integer >= 0), kind (0 plain, 1 assistant tool call, 2 tool result), body
Returns  {v, first_seq, last_seq, n, tokens, trimmed, duplicate, trimmed_through_seq,
          user, now_ms}   (user and time: for the per-user index the client updates next)
         n and tokens are the window's after trimming; duplicate = 1 when this call is a retry of
         one already stored (identified by its first message id): nothing is written and the
         stored reply of the first call is returned.
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments (nothing written)
Events   appended {type, sid, v, seq, first_seq, count, n, tokens, ts}
         trimmed  {type, sid, v, count, through_seq, n, tokens, ts}   (when trimming happened)
Trimming drops the oldest messages while the window holds more than max_messages or more than
max_tokens (the limits never drop the newest message), then keeps dropping while the window
would start on a tool result, so a tool result never outlives the assistant call it answers. Dropped
messages move to arch, capped at max_history (0 = dropped for good).
]]
--- @include "lib/session"

local meta, msgs, arch, dedup, dedup_prev = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local channel, name_hint = ARGV[1], ARGV[6]
local dedup_window = int_arg(ARGV[5], 'dedup window')
local k = int_arg(ARGV[7], 'message count')
if k == 0 then fail('RS_INVALID', 'append needs at least one message') end
if #ARGV ~= 7 + 4 * k then
  fail('RS_INVALID', 'expected ' .. (7 + 4 * k) .. ' arguments for ' .. k .. ' messages, got ' .. #ARGV)
end

-- Validate everything before the first write: Redis does not roll a script back.
local ids, toks, kinds, bodies, added = {}, {}, {}, {}, 0
for i = 1, k do
  local at = 7 + (i - 1) * 4
  ids[i] = ARGV[at + 1]
  toks[i] = int_arg(ARGV[at + 2], 'tokens')
  kinds[i] = int_arg(ARGV[at + 3], 'kind')
  bodies[i] = ARGV[at + 4]
  if ids[i] == '' then fail('RS_INVALID', 'message id is empty') end
  if kinds[i] > 2 then fail('RS_INVALID', 'kind must be 0, 1 or 2') end
  added = added + toks[i]
end

-- Everything the script needs from meta, in one call.
local f = redis.call('HMGET', meta, 'id', 'seq', 'n', 'tokens', 'name',
  'max_messages', 'max_tokens', 'max_history', 'user', 'v',
  'total_messages', 'total_tokens', 'total_trimmed', 'ttl', 'deadline', 'expires')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local sid = f[1]
local max_messages = limit(f[6], ARGV[2])
local max_tokens = limit(f[7], ARGV[3])
local max_history = limit(f[8], ARGV[4])

-- A retried call (same first message id) gets the first call's reply and writes nothing.
local seen = recall(ids[1])
if seen then
  local reply = {}
  for x in string.gmatch(seen, '[^,]+') do reply[#reply + 1] = tonumber(x) end
  reply[7] = 1
  reply[9], reply[10] = f[9] or '', now_ms()
  return reply
end

local now = now_ms()
local seq = tonumber(f[2])
local first_seq = seq + 1
local elements = {}
for i = 1, k do
  seq = seq + 1
  elements[i] = cmsgpack.pack({seq, toks[i], kinds[i]}) .. bodies[i]
end
call_chunked('RPUSH', msgs, elements)
local n_before = tonumber(f[3])
-- keys this call brings into being need the session's expiry (meta's n is the window's length)
local created = {}
if n_before == 0 then created[1] = msgs end
local n = n_before + k
local tokens = tonumber(f[4]) + added

-- Trim from the head: limits first, then any tool result left at the front. A window that was
-- not empty never starts on a tool result (every append leaves it so), so when no limit is
-- exceeded only a window that was empty needs its head looked at. A trimmed message moves to the
-- archive (LMOVE) or, with max_history 0, is dropped.
local trimmed, through = 0, 0
while n > 0 do
  local over = n > 1 and (n > max_messages or tokens > max_tokens)
  if not over then
    if n_before > 0 and trimmed == 0 then break end
    if header(redis.call('LINDEX', msgs, 0))[3] ~= KIND_TOOL_RESULT then break end
  end
  local head
  if max_history > 0 then
    head = redis.call('LMOVE', msgs, arch, 'LEFT', 'RIGHT')
  else
    head = redis.call('LPOP', msgs)
  end
  local h = header(head)
  trimmed = trimmed + 1
  n = n - 1
  tokens = tokens - h[2]
  through = h[1]
end
-- Cap the archive; an archive this trim started is a key created by this call. (LLEN, not a
-- count kept in meta: during a rolling upgrade, older scripts would leave such a count stale.)
if trimmed > 0 and max_history > 0 then
  local archived = redis.call('LLEN', arch)
  if archived == trimmed then created[#created + 1] = arch end
  if archived > max_history then redis.call('LTRIM', arch, -max_history, -1) end
end

local v = tonumber(f[10]) + 1
local fields = {'v', v, 'seq', seq, 'n', n, 'tokens', tokens, 'active', now,
  'total_messages', tonumber(f[11]) + k, 'total_tokens', tonumber(f[12]) + added,
  'total_trimmed', tonumber(f[13]) + trimmed}
if name_hint ~= '' and (f[5] == false or f[5] == '') then
  fields[#fields + 1], fields[#fields + 2] = 'name', name_hint
end

local reply = {v, first_seq, seq, n, tokens, trimmed, 0, through}
local new_dedup = remember(ids[1], table.concat(reply, ','), dedup_window)
if new_dedup then created[#created + 1] = new_dedup end

local at = slide_ttl(f[16], ttl_of(f[14], f[15], now), now, created)
if at then fields[#fields + 1], fields[#fields + 2] = 'expires', at end
redis.call('HSET', meta, unpack(fields))

count_stat('messages', k, now)
count_stat('tokens', added, now)
count_stat('trimmed', trimmed)
publish(channel, {type = 'appended', sid = sid, v = v, seq = seq, first_seq = first_seq,
  count = k, n = n, tokens = tokens, ts = now})
if trimmed > 0 then
  publish(channel, {type = 'trimmed', sid = sid, v = v, count = trimmed, through_seq = through,
    n = n, tokens = tokens, ts = now})
end
reply[9], reply[10] = f[9] or '', now
return reply
