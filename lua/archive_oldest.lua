#!lua
--[[ archive_oldest: move the oldest messages of a session's window to its archive (or drop
them), and return them.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup window
      [4] count: how many of the oldest window messages   [5] max_history store default
      [6] '1' = drop them instead of archiving
Returns  {v, element, ...}   the messages moved, oldest first (none: nothing written)
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments
Event    trimmed {type, sid, v, count, through_seq, n, tokens, ts}
Like an append's trimming: the window keeps its newest messages, the archive is capped at
max_history (0 = dropped for good), total_trimmed counts them. A retry returns the same
messages and moves nothing more.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel, call_id, drop = ARGV[1], ARGV[2], ARGV[6] == '1'
local dedup_window = int_arg(ARGV[3], 'dedup window')
local count = int_arg(ARGV[4], 'count')
if call_id == '' then fail('RS_INVALID', 'call id is empty') end

local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'max_history', 'total_trimmed')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall_call(call_id)
if seen then
  local reply = {seen[1]}
  for _, e in ipairs(cmsgpack.unpack(seen[2])) do reply[#reply + 1] = e end
  return reply
end
local n, tokens = tonumber(f[2]), tonumber(f[3])
count = math.min(count, n)
if count == 0 then return {tonumber(f[4])} end

-- checks done: writes
local moved = redis.call('LRANGE', msgs, 0, count - 1)
redis.call('LTRIM', msgs, count, -1)
local max_history = limit(f[5], ARGV[5])
if not drop and max_history > 0 then
  call_chunked('RPUSH', arch, moved)
  redis.call('LTRIM', arch, -max_history, -1)
end
local through = 0
for _, e in ipairs(moved) do
  local h = header(e)
  tokens, through = tokens - h[2], h[1]
end
n = n - count
local now = now_ms()
local v = tonumber(f[4]) + 1
remember_call(call_id, {v}, cmsgpack.pack(moved), dedup_window)
redis.call('HSET', meta, 'v', v, 'n', n, 'tokens', tokens, 'active', now,
  'total_trimmed', tonumber(f[6]) + count)
expire_all(session_ttl_ms(meta, now), now)
count_stat('trimmed', count)
publish(channel, {type = 'trimmed', sid = f[1], v = v, count = count, through_seq = through,
  n = n, tokens = tokens, ts = now})
local reply = {v}
for _, e in ipairs(moved) do reply[#reply + 1] = e end
return reply
