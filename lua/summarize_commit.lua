#!lua
--[[ summarize_commit: store a new summary, only if nothing moved since summarize_begin, and
move the window messages it folded in (seq <= the new watermark) to the archive, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] lease token   [5] watermark the summary started from
      [6] new watermark (seq of the last message folded in)   [7] summary text
      [8] summary tokens   [9] number of messages folded in
      [10] max_history store default (per-session override wins; 0 = folded messages dropped)
Returns  the session's new version; a retry (same call id) returns the first call's version and
         writes nothing
Errors   RS_NOT_FOUND no such session
         RS_CONFLICT another instance holds the lease, or the watermark moved (someone else
         committed first): nothing is written, so no message is summarized twice or skipped
         RS_INVALID malformed arguments;  RS_CORRUPTED meta, the window or a header is damaged
Events   trimmed {type, sid, v, w, count, through_seq, n, tokens, ts}   when window messages moved
         summarized {type, sid, v, w, through_seq, count, tokens, ts}
The messages to move are found by reading (headers checked, the window's length checked against
meta n) before anything is written: a damaged window fails the commit with nothing lost.
]]
--- @include "lib/session"

local meta, msgs, arch, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[7]
local channel = ARGV[1]
local call, dedup_ttl = call_args()
local token, summary = ARGV[4], ARGV[7]
local from = int_arg(ARGV[5], 'watermark')
local through = int_arg(ARGV[6], 'new watermark')
local tokens = int_arg(ARGV[8], 'summary tokens')
local folded = int_arg(ARGV[9], 'count')
if through < from then fail('RS_INVALID', 'the new watermark is behind the old one') end
local f = redis.call('HMGET', meta, 'id', 'summary_seq', 'v', 'n', 'tokens', 'max_history',
  'total_trimmed', 'summaries', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall(call)
if seen then return tonumber(seen) end
local holder = redis.call('GET', lease)
if holder and holder ~= token then
  fail('RS_CONFLICT', 'another instance holds the summary lease')
end
local current = tonumber(f[2] or 0) or num(f[2], 'summary_seq')
if current ~= from then
  fail('RS_CONFLICT', 'the watermark moved from ' .. from .. ' to ' .. current)
end
local v = num(f[3], 'v') + 1
local n, wtokens = num(f[4], 'n'), num(f[5], 'tokens')
local total_trimmed = num(f[7], 'total_trimmed')
local summaries = tonumber(f[8] or 0) or num(f[8], 'summaries')
local max_history = limit(f[6], ARGV[10] or '0')
local now = now_ms()
local ttl = ttl_of(f[9], f[10], now)
check_window(n)

-- The window messages now in the summary leave the window (appends may have trimmed some
-- already; those are in the archive): readers see them go and the summary come at once.
local moved = {}
while n > 0 do
  local head = redis.call('LINDEX', msgs, #moved)
  local h = checked_header(head, 'window index ' .. #moved)
  if h[1] > through then break end
  moved[#moved + 1] = head
  n, wtokens = n - 1, wtokens - h[2]
end

local fields = {'summary', summary, 'summary_seq', through, 'summary_tokens', tokens,
  'summaries', summaries + 1}
if #moved > 0 then
  redis.call('LTRIM', msgs, #moved, -1)
  if max_history > 0 then
    call_chunked('RPUSH', arch, moved)
    redis.call('LTRIM', arch, -max_history, -1)
  end
  for _, x in ipairs({'n', n, 'tokens', wtokens, 'total_trimmed', total_trimmed + #moved}) do
    fields[#fields + 1] = x
  end
  count_stat('trimmed', #moved)
end
local started = remember(call, v, f[11], dedup_ttl, now)
redis.call('HSET', meta, unpack(stamp(fields, v, call, started)))
redis.call('DEL', lease)
count_stat('summaries', 1)
expire_all(ttl, now)
if #moved > 0 then
  publish(channel, {type = 'trimmed', sid = f[1], v = v, w = call, count = #moved,
    through_seq = through, n = n, tokens = wtokens, ts = now})
end
publish(channel, {type = 'summarized', sid = f[1], v = v, w = call, through_seq = through,
  count = folded, tokens = tokens, ts = now})
return v
