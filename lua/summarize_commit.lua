#!lua
--[[ summarize_commit: store a new summary, only if nothing moved since summarize_begin, and
move the window messages it folded in (seq <= the new watermark) to the archive, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] lease token   [3] watermark the summary started from
      [4] new watermark (seq of the last message folded in)   [5] summary text
      [6] summary tokens   [7] number of messages folded in
      [8] max_history store default (per-session override wins; 0 = folded messages dropped)
Returns  the session's new version
Errors   RS_NOT_FOUND no such session
         RS_CONFLICT another instance holds the lease, or the watermark moved (someone else
         committed first): nothing is written, so no message is summarized twice or skipped
         RS_INVALID malformed arguments
Events   trimmed {type, sid, v, count, through_seq, n, tokens, ts}   when window messages moved
         summarized {type, sid, v, through_seq, count, tokens, ts}
A retry of a commit that already went through returns the version and writes nothing.
]]
--- @include "lib/session"

local meta, lease = KEYS[1], KEYS[7]
local channel, token, summary = ARGV[1], ARGV[2], ARGV[5]
local from = int_arg(ARGV[3], 'watermark')
local through = int_arg(ARGV[4], 'new watermark')
local tokens = int_arg(ARGV[6], 'summary tokens')
local folded = int_arg(ARGV[7], 'count')
if through < from then fail('RS_INVALID', 'the new watermark is behind the old one') end
local max_history_default = ARGV[8] or '0'
local f = redis.call('HMGET', meta, 'id', 'summary_seq', 'summary', 'v', 'n', 'tokens',
  'max_history')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local current = tonumber(f[2]) or 0
if current == through and f[3] == summary and redis.call('GET', lease) ~= token then
  return tonumber(f[4])
end
local holder = redis.call('GET', lease)
if holder and holder ~= token then
  fail('RS_CONFLICT', 'another instance holds the summary lease')
end
if current ~= from then
  fail('RS_CONFLICT', 'the watermark moved from ' .. from .. ' to ' .. current)
end

local now = now_ms()
local v = redis.call('HINCRBY', meta, 'v', 1)
-- The window messages now in the summary leave the window (appends may have trimmed some
-- already; those are in the archive): readers see them go and the summary come at once.
local msgs, arch = KEYS[2], KEYS[3]
local n, wtokens, moved = tonumber(f[5]), tonumber(f[6]), {}
while n > 0 do
  local head = redis.call('LINDEX', msgs, 0)
  local h = header(head)
  if h[1] > through then break end
  redis.call('LPOP', msgs)
  moved[#moved + 1] = head
  n, wtokens = n - 1, wtokens - h[2]
end
if #moved > 0 then
  local max_history = limit(f[7], max_history_default)
  if max_history > 0 then
    call_chunked('RPUSH', arch, moved)
    redis.call('LTRIM', arch, -max_history, -1)
  end
  redis.call('HSET', meta, 'n', n, 'tokens', wtokens)
  redis.call('HINCRBY', meta, 'total_trimmed', #moved)
  count_stat('trimmed', #moved)
  publish(channel, {type = 'trimmed', sid = f[1], v = v, count = #moved, through_seq = through,
    n = n, tokens = wtokens, ts = now})
end
redis.call('HSET', meta, 'summary', summary, 'summary_seq', through, 'summary_tokens', tokens)
redis.call('HINCRBY', meta, 'summaries', 1)
redis.call('DEL', lease)
count_stat('summaries', 1)
expire_all(session_ttl_ms(meta, now), now)
publish(channel, {type = 'summarized', sid = f[1], v = v, through_seq = through, count = folded,
  tokens = tokens, ts = now})
return v
