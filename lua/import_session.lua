#!lua
--[[ import_session: write one exported session (meta, window, archive, state) in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] overwrite (1 = replace a session with this id)   [5] remaining TTL ms (> 0)
      [6] meta fields as a JSON object of strings   [7] s, state fields   [8] w, window elements
      then 2*s state arguments (field, JSON value), w window elements, the archive elements
Returns  the session's version after the import; a retry (same call id) returns it again and
         writes nothing
Errors   RS_EXISTS a session with this id exists and overwrite is 0
         RS_INVALID malformed arguments: a meta field this version does not know, a field of
         the wrong type, a required one missing, window seqs not strictly increasing or past
         meta seq, n/tokens that do not match the window, a deadline already past (it would
         expire the acknowledged import at once); all checked before the first write
Event    created {type, sid, user, v, w, imported = true, ts}
The version is the exported one, or one more than the replaced session's if that was higher,
so caches holding the old session see a newer version; the write tag is this call's id.
]]
--- @include "lib/session"

local channel, overwrite = ARGV[1], ARGV[4] == '1'
local call, dedup_ttl = call_args()
local ttl = int_arg(ARGV[5], 'ttl ms')
if ttl == 0 then fail('RS_INVALID', 'import needs a positive TTL') end
local s = int_arg(ARGV[7], 'state count')
local w = int_arg(ARGV[8], 'window count')
if #ARGV < 8 + 2 * s + w then fail('RS_INVALID', 'fewer arguments than the counts say') end
local ok, fields = pcall(cjson.decode, ARGV[6])
if not ok or type(fields) ~= 'table' or type(fields.id) ~= 'string' or not tonumber(fields.v) then
  fail('RS_INVALID', 'meta must be a JSON object with id and v')
end
if fields.id ~= string.match(KEYS[1], '{(.-)}') then
  fail('RS_INVALID', 'meta id ' .. fields.id .. ' is not the session of these keys')
end

-- Every meta field an export may carry, with its kind: 'text', 'int' (>= 0), 'int1' (>= 1),
-- 'limit' ('' or an int >= 0). Required fields are those every session has (create.lua).
local KINDS = {id = 'text', user = 'text', name = 'text', metadata = 'text', summary = 'text',
  created = 'int', active = 'int', ttl = 'int1', deadline = 'int', v = 'int1', seq = 'int',
  n = 'int', tokens = 'int', total_messages = 'int', total_tokens = 'int', total_trimmed = 'int',
  summary_seq = 'int', summary_tokens = 'int', summaries = 'int',
  max_messages = 'limit', max_tokens = 'limit', max_history = 'limit',
  -- issue 13: lifecycle and agent bookkeeping (plus the `tool:<name>` and `err:<kind>` counters)
  state = 'text', ttl_active = 'int1', tin = 'int', tout = 'int', tool_errors = 'int',
  model_errors = 'int', last_error = 'text'}
local REQUIRED = {'id', 'v', 'seq', 'n', 'tokens', 'created', 'active', 'ttl', 'total_messages',
  'total_tokens', 'total_trimmed'}
for name, value in pairs(fields) do
  local kind = KINDS[name]
  if not kind and (string.match(name, '^tool:.') or string.match(name, '^err:.')) then kind = 'int' end
  if not kind then fail('RS_INVALID', 'meta field ' .. tostring(name) .. ' is not one an export holds') end
  if type(value) ~= 'string' then fail('RS_INVALID', 'meta ' .. name .. ' must be a string') end
  if kind ~= 'text' and not (kind == 'limit' and value == '') then
    local x = tonumber(value)
    if not x or x ~= math.floor(x) or x < 0 or x > 2^53 or (kind == 'int1' and x < 1)
        or not string.match(value, '^%d+$') then
      fail('RS_INVALID', 'meta ' .. name .. " must be an integer, got '" .. value .. "'")
    end
  end
end
for _, name in ipairs(REQUIRED) do
  if fields[name] == nil then fail('RS_INVALID', 'meta lacks ' .. name) end
end
if fields.metadata and fields.metadata ~= '' then
  local ok_m, decoded = pcall(cjson.decode, fields.metadata)
  if not ok_m or type(decoded) ~= 'table' then
    fail('RS_INVALID', 'meta metadata must be a JSON object')
  end
end
local meta_seq = tonumber(fields.seq)
local deadline = tonumber(fields.deadline or '0')
if deadline > 0 and deadline <= now_ms() + ttl then
  ttl = deadline - now_ms()
  if ttl <= 0 then
    fail('RS_INVALID', 'meta deadline is past: the session would expire as soon as imported')
  end
end
if tonumber(fields.summary_seq or '0') > meta_seq then
  fail('RS_INVALID', 'meta summary_seq is past meta seq')
end

-- The lists: readable headers, every seq <= meta seq, window seqs strictly increasing, and a
-- window that adds up to meta n and tokens.
local first = 9 + 2 * s
local last_seen, wtokens = 0, 0
for i = first, #ARGV do
  local ok_h, h = pcall(header, ARGV[i])
  local where = i < first + w and ('window message ' .. (i - first + 1))
    or ('archive message ' .. (i - first - w + 1))
  if not ok_h or type(h) ~= 'table' or type(h[1]) ~= 'number' or type(h[2]) ~= 'number'
      or type(h[3]) ~= 'number' then
    fail('RS_INVALID', where .. ' has no readable header')
  end
  if i < first + w then
    if h[1] <= last_seen or h[1] > meta_seq then
      fail('RS_INVALID', where .. ' has seq ' .. h[1] .. ': window seqs must increase and stay '
        .. 'within meta seq ' .. meta_seq)
    end
    last_seen, wtokens = h[1], wtokens + h[2]
  elseif h[1] > meta_seq then
    fail('RS_INVALID', where .. ' has seq ' .. h[1] .. ', past meta seq ' .. meta_seq)
  end
end
if w ~= tonumber(fields.n) or wtokens ~= tonumber(fields.tokens) then
  fail('RS_INVALID', 'meta n/tokens (' .. fields.n .. '/' .. fields.tokens .. ') do not match '
    .. 'the window (' .. w .. '/' .. wtokens .. ')')
end

local seen = recall(call)
if seen then return tonumber(seen) end
local old_v = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not overwrite then fail('RS_EXISTS', 'session ' .. fields.id .. ' already exists') end
  old_v = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
end

local flat = {}
for k, v in pairs(fields) do
  if k ~= 'v' and k ~= 'w' and k ~= 'dr' then
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
end
local v = tonumber(fields.v)
if old_v >= v then v = old_v + 1 end
local now = now_ms()
-- retry records (dedup) stay: they name calls, not content
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7])
local started = remember(call, v, nil, dedup_ttl, now)
redis.call('HSET', KEYS[1], unpack(stamp(flat, v, call, started)))
if s > 0 then call_chunked('HSET', KEYS[6], ARGV, 9, 8 + 2 * s) end
if w > 0 then call_chunked('RPUSH', KEYS[2], ARGV, first, first + w - 1) end
if #ARGV >= first + w then call_chunked('RPUSH', KEYS[3], ARGV, first + w, #ARGV) end
expire_all(ttl, now)
if old_v == 0 then count_stat('created', 1) end
publish(channel, {type = 'created', sid = fields.id, user = fields.user or '', v = v, w = call,
  imported = true, ts = now})
return v
