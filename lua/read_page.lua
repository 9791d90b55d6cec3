#!lua flags=no-writes
--[[ read_page: the next page of a big read, by seq, so appends between pages never shift it.
(Where a page starts is found by seq, searched when pop or delete_message left a gap: lib/seek.)
KEYS  the session keys (lib/session): meta msgs arch (others unused)
ARGV  [1] what: 'window' (window messages with seq > ARGV[2], oldest first)
              | 'history' (archive then window, seq > ARGV[2])
              | 'before' (the newest window messages with seq < ARGV[2], returned oldest first)
      [2] a seq   [3] at most this many elements (> 0)
Returns  {meta as a flat HGETALL list, remaining TTL ms, head, total, elements...}
         head: the seq of the first message the session holds for `what` (0 when none);
         total: how many it holds (n, or archive + window for 'history');
         or {} when the session does not exist.
         The client keeps only seqs >= head (trimmed while it paged) and checks total.
]]
--- @include "lib/session"
--- @include "lib/seek"

local what, seq, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if not seq or not limit or limit < 1 then fail('RS_INVALID', 'read_page needs a seq and a limit') end
local m = redis.call('HGETALL', KEYS[1])
if #m == 0 then return {} end

local function head_of(key)
  local e = redis.call('LINDEX', key, 0)
  if e then return header(e)[1] end
  return nil
end

local wh, wn = head_of(KEYS[2]), redis.call('LLEN', KEYS[2])
local head, total = wh or 0, wn
local elements = {}
if what == 'before' then
  if wh then
    local to = first_after(KEYS[2], seq - 1) - 1
    if to >= 0 then elements = redis.call('LRANGE', KEYS[2], math.max(0, to - limit + 1), to) end
  end
elseif what == 'history' then
  local ah, an = head_of(KEYS[3]), redis.call('LLEN', KEYS[3])
  total = an + wn
  if ah then head = ah end
  if ah then
    local from = first_after(KEYS[3], seq)
    if from < an then elements = redis.call('LRANGE', KEYS[3], from, from + limit - 1) end
  end
  if #elements < limit and wh then
    local from = 0
    if #elements == 0 then from = first_after(KEYS[2], seq) end
    for _, e in ipairs(redis.call('LRANGE', KEYS[2], from, from + limit - #elements - 1)) do
      elements[#elements + 1] = e
    end
  end
elseif wh then
  local from = first_after(KEYS[2], seq)
  elements = redis.call('LRANGE', KEYS[2], from, from + limit - 1)
end

local reply = {m, redis.call('PTTL', KEYS[1]), head, total}
for _, e in ipairs(elements) do reply[#reply + 1] = e end
return reply
