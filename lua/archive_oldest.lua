#!lua
--[[ archive_oldest: move the oldest messages of a session's window to its archive (or drop
them), and return them.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] count: how many of the oldest window messages   [5] max_history store default
      [6] '1' = drop them instead of archiving
Returns  {v, element, ...}   the messages moved, oldest first (none: nothing written)
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta or the window is damaged
         RS_INVALID malformed arguments
Event    trimmed {type, sid, v, w, count, through_seq, n, tokens, ts}
Like an append's trimming: the window keeps its newest messages, the archive is capped at
max_history (0 = dropped for good), total_trimmed counts them. A retry returns the same
messages and moves nothing more.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local call, dedup_ttl = call_args()
local count = int_arg(ARGV[4], 'count')
local drop = ARGV[6] == '1'
local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'max_history', 'total_trimmed',
  'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then
  local reply = {seen[1]}
  for _, e in ipairs(cmsgpack.unpack(seen[2])) do reply[#reply + 1] = e end
  return reply
end
local n, tokens, v = num(f[2], 'n'), num(f[3], 'tokens'), num(f[4], 'v')
local total_trimmed = num(f[6], 'total_trimmed')
count = math.min(count, n)
if count == 0 then return {v} end
check_window(n)
local moved = redis.call('LRANGE', msgs, 0, count - 1)
local through = 0
for i, e in ipairs(moved) do
  local h = checked_header(e, 'window index ' .. (i - 1))
  tokens, through = tokens - h[2], h[1]
end
local max_history = limit(f[5], ARGV[5])
local now = now_ms()
local ttl = ttl_of(f[7], f[8], now)

-- checks done: writes
redis.call('LTRIM', msgs, count, -1)
if not drop and max_history > 0 then
  call_chunked('RPUSH', arch, moved)
  redis.call('LTRIM', arch, -max_history, -1)
end
n, v = n - count, v + 1
local started = record(call, {v}, cmsgpack.pack(moved), f[9], dedup_ttl, now)
rewrote(meta, v, call, started, nil, n, tokens, now, ttl,
  {'total_trimmed', total_trimmed + count}, true)
count_stat('trimmed', count)
publish(ARGV[1], {type = 'trimmed', sid = f[1], v = v, w = call, count = count,
  through_seq = through, n = n, tokens = tokens, ts = now})
local reply = {v}
for _, e in ipairs(moved) do reply[#reply + 1] = e end
return reply
