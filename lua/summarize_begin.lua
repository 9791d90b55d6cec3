#!lua
--[[ summarize_begin: take the summary lease and return what is left to summarize.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel (unused: begin changes nothing anyone else sees)
      [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] lease token   [5] lease ms (> 0)
      [6] keep tokens: also return the oldest window messages that must go for the window to
          hold at most this many tokens ('' = none); summarize_commit moves them out of the
          window together with the new summary, so no reader ever sees them gone unsummarized
      [7] max_history store default (per-session override wins)
Returns  {0} when another instance holds the lease, else
         {1, summary, watermark, lost, elements...}: the current summary ('' = none), its
         watermark (summarized_through_seq), how many messages after the watermark were dropped
         from the archive before anyone summarized them, then the archived messages after the
         watermark and the window messages to fold, oldest first.
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments, or compaction asked of
         a session whose archive is off (max_history 0);  RS_CORRUPTED meta, the window or a
         message header is damaged
Only the lease is written, after every read and check. A retry by the lease holder (same token)
takes the lease again and returns the same messages, so nothing is remembered for it.
]]
--- @include "lib/session"

local meta, msgs, arch, lease = KEYS[1], KEYS[2], KEYS[3], KEYS[7]
call_args()
local token = ARGV[4]
local lease_ms = int_arg(ARGV[5], 'lease ms')
if lease_ms == 0 or token == '' then fail('RS_INVALID', 'lease needs a token and a duration') end
local keep = nil
if ARGV[6] ~= '' then keep = int_arg(ARGV[6], 'keep tokens') end
local f = redis.call('HMGET', meta, 'id', 'summary', 'summary_seq', 'n', 'tokens', 'seq',
  'max_history')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local max_history = limit(f[7], ARGV[7])
if keep and max_history == 0 then
  fail('RS_INVALID', 'summaries need an archive: this session has max_history 0')
end
local holder = redis.call('GET', lease)
if holder and holder ~= token then return {0} end
local n, tokens, seq = num(f[4], 'n'), num(f[5], 'tokens'), num(f[6], 'seq')
local watermark = tonumber(f[3] or 0) or num(f[3], 'summary_seq')
check_window(n)

-- The window messages to fold: the same rule as trimming, applied without moving anything.
local fold = {}
if keep then
  local i = 0
  while n > 0 do
    local e = redis.call('LINDEX', msgs, i)
    local h = checked_header(e, 'window index ' .. i)
    if not ((n > 1 and tokens > keep) or h[3] >= KIND_TOOL_RESULT) then break end
    fold[#fold + 1] = e
    n, tokens, i = n - 1, tokens - h[2], i + 1
  end
end

local archived = redis.call('LRANGE', arch, 0, -1)
local pending, first_pending = {}, nil
for i, e in ipairs(archived) do
  local h = checked_header(e, 'archive index ' .. (i - 1))
  if h[1] > watermark then
    pending[#pending + 1] = e
    first_pending = first_pending or h[1]
  end
end
-- The first seq still available after the watermark shows what was lost in between.
local next_seq = first_pending
if not next_seq then
  local head = redis.call('LINDEX', msgs, 0)
  next_seq = head and checked_header(head, 'window index 0')[1] or seq + 1
end

redis.call('SET', lease, token, 'PX', lease_ms)
local reply = {1, f[2] or '', watermark, math.max(0, next_seq - watermark - 1)}
for _, e in ipairs(pending) do reply[#reply + 1] = e end
for _, e in ipairs(fold) do reply[#reply + 1] = e end
return reply
