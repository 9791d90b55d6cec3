#!lua
--[[ summarize_begin: take the summary lease and return what is left to summarize.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] lease token   [3] lease ms (> 0)
      [4] keep tokens: first move the oldest window messages to the archive until the window
          holds at most this many tokens ('' = no compaction)
      [5] max_history store default (per-session override wins)
Returns  {0} when another instance holds the lease, else
         {1, summary, watermark, lost, elements...}: the current summary ('' = none), its
         watermark (summarized_through_seq), how many messages after the watermark were dropped
         from the archive before anyone summarized them, and the archived messages after the
         watermark, oldest first.
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments, or compaction asked of
         a session whose archive is off (max_history 0)
Event    trimmed {type, sid, v, count, through_seq, n, tokens, ts}   when compaction moved messages
A retry by the lease holder (same token) takes the lease again and returns the same messages.
]]
--- @include "lib/session"

local meta, msgs, arch, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[7]
local channel, token = ARGV[1], ARGV[2]
local lease_ms = int_arg(ARGV[3], 'lease ms')
if lease_ms == 0 or token == '' then fail('RS_INVALID', 'lease needs a token and a duration') end
local keep = nil
if ARGV[4] ~= '' then keep = int_arg(ARGV[4], 'keep tokens') end
local f = redis.call('HMGET', meta, 'id', 'summary', 'summary_seq', 'n', 'tokens', 'seq',
  'max_history')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local max_history = limit(f[7], ARGV[5])
if keep and max_history == 0 then
  fail('RS_INVALID', 'summaries need an archive: this session has max_history 0')
end

local holder = redis.call('GET', lease)
if holder and holder ~= token then return {0} end
redis.call('SET', lease, token, 'PX', lease_ms)

local now = now_ms()
local n, tokens = tonumber(f[4]), tonumber(f[5])
if keep then
  local moved, through = {}, 0
  while n > 0 do
    local head = redis.call('LINDEX', msgs, 0)
    local h = header(head)
    if not ((n > 1 and tokens > keep) or h[3] == KIND_TOOL_RESULT) then break end
    redis.call('LPOP', msgs)
    moved[#moved + 1] = head
    n, tokens, through = n - 1, tokens - h[2], h[1]
  end
  if #moved > 0 then
    call_chunked('RPUSH', arch, moved)
    redis.call('LTRIM', arch, -max_history, -1)
    local v = redis.call('HINCRBY', meta, 'v', 1)
    redis.call('HSET', meta, 'n', n, 'tokens', tokens)
    redis.call('HINCRBY', meta, 'total_trimmed', #moved)
    count_stat('trimmed', #moved)
    expire_all(session_ttl_ms(meta, now), now)
    publish(channel, {type = 'trimmed', sid = f[1], v = v, count = #moved, through_seq = through,
      n = n, tokens = tokens, ts = now})
  end
end

local watermark = tonumber(f[3]) or 0
local archived = redis.call('LRANGE', arch, 0, -1)
local pending = {}
for _, e in ipairs(archived) do
  if header(e)[1] > watermark then pending[#pending + 1] = e end
end
-- The first seq still available after the watermark shows what was lost in between.
local next_seq = tonumber(f[6]) + 1
if #pending > 0 then
  next_seq = header(pending[1])[1]
else
  local head = redis.call('LINDEX', msgs, 0)
  if head then next_seq = header(head)[1] end
end
local reply = {1, f[2] or '', watermark, math.max(0, next_seq - watermark - 1)}
for _, e in ipairs(pending) do reply[#reply + 1] = e end
return reply
