#!lua
--[[ summarize_begin: take the summary lease and return what is left to summarize.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel (unused: begin changes nothing anyone else sees)   [2] lease token
      [3] lease ms (> 0)
      [4] keep tokens: also return the oldest window messages that must go for the window to
          hold at most this many tokens ('' = none); summarize_commit moves them out of the
          window together with the new summary, so no reader ever sees them gone unsummarized
      [5] max_history store default (per-session override wins)
Returns  {0} when another instance holds the lease, else
         {1, summary, watermark, lost, elements...}: the current summary ('' = none), its
         watermark (summarized_through_seq), how many messages after the watermark were dropped
         from the archive before anyone summarized them, then the archived messages after the
         watermark and the window messages to fold, oldest first.
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments, or compaction asked of
         a session whose archive is off (max_history 0)
Only the lease is written. A retry by the lease holder (same token) takes the lease again and
returns the same messages.
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

-- The window messages to fold: the same rule as trimming, applied without moving anything.
local fold = {}
if keep then
  local n, tokens, i = tonumber(f[4]), tonumber(f[5]), 0
  while n > 0 do
    local e = redis.call('LINDEX', msgs, i)
    local h = header(e)
    if not ((n > 1 and tokens > keep) or h[3] >= KIND_TOOL_RESULT) then break end
    fold[#fold + 1] = e
    n, tokens, i = n - 1, tokens - h[2], i + 1
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
for _, e in ipairs(fold) do reply[#reply + 1] = e end
return reply
