#!lua flags=allow-oom
--[[ repair: rebuild a damaged session's meta from what its lists hold, or delete what cannot be
rebuilt. For operators and `store.repair()`, after SessionCorrupted (an evicted key, a tampered
import, a crash of an older version).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
Returns  {outcome, v, problem, problem, ...}
         outcome 'ok': nothing was wrong, nothing written (v: the version)
                 'repaired': meta rebuilt (v: the new version), problems: what was fixed
                 'deleted': no meta to rebuild from (id, ttl or created unreadable), or only
                 leftovers: every key of the session deleted (v 0)
                 'missing': no key of the session exists (v 0)
         a retry (same call id) returns the first call's reply
Event    repaired {type, sid, v, w, problems, ts}   or deleted {type, sid, user, v, w, ts}
Rebuilt from the lists: n and tokens (the window's), seq (at least the last seq seen in either
list), totals (never below what the lists hold), the summary watermark (numbers only); elements
whose header cannot be read are dropped (named in problems), and so are window elements whose
seq does not increase. Every key gets the session's expiry again. Runs when Redis is out of
memory (allow-oom): it deletes, or rewrites what is there in place.
]]
--- @include "lib/session"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel = ARGV[1]
local call, dedup_ttl = call_args()
local seen = recall(call)
if seen then
  local reply = {}
  for x in string.gmatch(seen, '[^\n]+') do reply[#reply + 1] = x end
  reply[2] = tonumber(reply[2])
  return reply
end
local now = now_ms()
local sid = string.match(meta, '{(.-)}')

local m = {}
local flat = redis.call('HGETALL', meta)
for i = 1, #flat, 2 do m[flat[i]] = flat[i + 1] end

-- The reply as dedup keeps it: one line per item.
local function lines(reply)
  local text = {}
  for i, x in ipairs(reply) do text[i] = tostring(x) end
  return table.concat(text, '\n')
end

-- No meta worth rebuilding from: delete every key of the session (dedup stays for retries).
local function gone(reason)
  local existed = redis.call('DEL', meta, msgs, arch, KEYS[6], KEYS[7])
  if existed == 0 then return {'missing', 0} end
  if KEYS[9] and redis.call('ZREM', KEYS[9], sid) == 1 then count_stat('deleted', 1) end
  publish(channel, {type = 'deleted', sid = sid, user = m.user or '', v = (tonumber(m.v) or 0) + 1,
    w = call, repaired = true, ts = now})
  local reply = {'deleted', 0, reason}
  remember(call, lines(reply), m.dr, dedup_ttl, now)
  redis.call('PEXPIREAT', KEYS[4], now + dedup_ttl)
  redis.call('PEXPIREAT', KEYS[5], now + dedup_ttl)
  return reply
end

if not m.id then
  if redis.call('EXISTS', msgs, arch, KEYS[6], KEYS[7]) == 0 then return {'missing', 0} end
  return gone('meta is missing; the keys left without it were deleted')
end
for _, name in ipairs({'ttl', 'created'}) do
  if not tonumber(m[name]) then
    return gone('meta ' .. name .. ' is unreadable: the session cannot be rebuilt')
  end
end
if tonumber(m.ttl) <= 0 then return gone('meta ttl is not positive') end

local problems = {}
local function note(what) problems[#problems + 1] = string.gsub(what, '%c', '?') end

-- The lists as they can be read: elements with a readable header, window seqs increasing.
local function readable(key, name, increasing)
  local kept, heads, dropped, last = {}, {}, 0, -1
  for _, e in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local ok, h = pcall(header, e)
    if ok and type(h) == 'table' and type(h[1]) == 'number' and type(h[2]) == 'number'
        and type(h[3]) == 'number' and (not increasing or h[1] > last) then
      kept[#kept + 1], heads[#heads + 1], last = e, h, h[1]
    else
      dropped = dropped + 1
    end
  end
  if dropped > 0 then note(dropped .. ' unreadable or out-of-order messages dropped from ' .. name) end
  return kept, heads, dropped
end
local window, wheads, wdropped = readable(msgs, 'the window', true)
local archive, aheads, adropped = readable(arch, 'the archive', false)

local n, tokens, last_seq, all_tokens = #window, 0, 0, 0
for _, h in ipairs(wheads) do tokens, last_seq = tokens + h[2], math.max(last_seq, h[1]) end
all_tokens = tokens
for _, h in ipairs(aheads) do
  all_tokens, last_seq = all_tokens + h[2], math.max(last_seq, h[1])
end

local fields = {}
local function want(name, value, why)
  if m[name] ~= tostring(value) then
    fields[#fields + 1], fields[#fields + 2] = name, value
    note(why or ('meta ' .. name .. ' was ' .. (m[name] and ("'" .. m[name] .. "'") or 'missing')
      .. ', now ' .. value))
  end
end
local function number_or(name, default)
  local x = tonumber(m[name])
  if x == nil or x ~= x or x == math.huge or x == -math.huge then return default end
  return x
end
local seq = math.max(number_or('seq', 0), last_seq)
want('n', n)
want('tokens', tokens)
want('seq', seq)
want('total_messages', math.max(number_or('total_messages', 0), seq))
want('total_tokens', math.max(number_or('total_tokens', 0), all_tokens))
want('total_trimmed', math.max(number_or('total_trimmed', 0), #archive))
want('deadline', number_or('deadline', 0))
want('active', number_or('active', tonumber(m.created)))
for _, name in ipairs({'summary_seq', 'summary_tokens', 'summaries'}) do
  if m[name] and not tonumber(m[name]) then want(name, 0) end
end
if not tonumber(m.v) then note('meta v was ' .. (m.v and ("'" .. m.v .. "'") or 'missing')) end
local drop = {}
for _, name in ipairs({'max_messages', 'max_tokens', 'max_history'}) do
  if m[name] and m[name] ~= '' and not tonumber(m[name]) then
    drop[#drop + 1] = name
    note('meta ' .. name .. " override '" .. m[name] .. "' removed")
  end
end
local names = {'meta', 'msgs', 'arch', 'dedup', 'dedup_prev', 'state'}
for i = 1, OWN_KEYS do
  if redis.call('PTTL', KEYS[i]) == -1 then note(names[i] .. ' had no TTL') end
end
if #problems == 0 then return {'ok', tonumber(m.v)} end

-- Writes: the lists rewritten without what could not be read, then meta, then the expiry.
local function rewrite(key, kept, dropped)
  if dropped == 0 then return end
  redis.call('DEL', key)
  if #kept > 0 then call_chunked('RPUSH', key, kept) end
end
rewrite(msgs, window, wdropped)
rewrite(arch, archive, adropped)
if #drop > 0 then redis.call('HDEL', meta, unpack(drop)) end
local v = number_or('v', 0) + 1
local reply = {'repaired', v}
for _, p in ipairs(problems) do reply[#reply + 1] = p end
local started = remember(call, lines(reply), m.dr, dedup_ttl, now)
redis.call('HSET', meta, unpack(stamp(fields, v, call, started)))
expire_all(ttl_of(m.ttl, number_or('deadline', 0), now), now)
publish(channel, {type = 'repaired', sid = sid, v = v, w = call, problems = problems, ts = now})
return reply
