#!lua
--[[ lean_append: a PROTOTYPE of append.lua's phase-2 layout, priced by benchmarks.anatomy.
Not shipped: the store never loads it. Same KEYS and ARGV as append.lua (so the anatomy
benchmark calls both the same way); what differs is how the guarantees are paid for:

- dedup as append.lua (two generations of `window` replies) without the HLEN: meta's 'dn'
  counts the current generation, read and written with the rest of meta. (A first version kept
  the ids in meta itself, read by the meta HMGET for free: 20x slower on a busy session, whose
  meta grew by one field per call.)
- numbers cross into Redis as integers formatted by string.format('%d') (and the dedup reply by
  one format): Lua's own number-to-string is printf's '%.14g' float path, which callgrind shows
  at ~13% of append.lua's instructions (about 35 conversions per append).
- one event per append: 'appended' carries trimmed and through_seq; built by string.format,
  no cjson; one PUBLISH.
- the slot's stats counters are bumped in batches: meta's 'pm', 'pt', 'pr' collect what this
  session added since the last flush, and the flush (3 HINCRBY) rides on the TTL step, once a
  second per busy session. (The shipped design would also flush them from expire_slot/delete.)
Everything else is append.lua's: validation first, window trim by messages and tokens to the
archive, archive cap, TTL steps, v, seq, totals.
]]
--- @include "lib/session"

local function d(n) return string.format('%d', n) end
local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel, name_hint = ARGV[1], ARGV[6]
local k = int_arg(ARGV[7], 'message count')
if k == 0 then fail('RS_INVALID', 'append needs at least one message') end
if #ARGV ~= 7 + 4 * k then fail('RS_INVALID', 'wrong argument count') end
local ids, toks, kinds, bodies, added = {}, {}, {}, {}, 0
for i = 1, k do
  local at = 7 + (i - 1) * 4
  ids[i] = ARGV[at + 1]
  toks[i] = int_arg(ARGV[at + 2], 'tokens')
  kinds[i] = int_arg(ARGV[at + 3], 'kind')
  bodies[i] = ARGV[at + 4]
  if ids[i] == '' then fail('RS_INVALID', 'message id is empty') end
  if kinds[i] > 2 then fail('RS_INVALID', 'kind must be 0, 1 or 2') end
  added = added + toks[i]
end
local f = redis.call('HMGET', meta, 'id', 'seq', 'n', 'tokens', 'name',
  'max_messages', 'max_tokens', 'max_history', 'user', 'v',
  'total_messages', 'total_tokens', 'total_trimmed', 'ttl', 'deadline', 'expires',
  'dn', 'pm', 'pt', 'pr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local now = now_ms()
local seen = recall(ids[1])
if seen then
  local reply = {}
  for x in string.gmatch(seen, '[^,]+') do reply[#reply + 1] = tonumber(x) end
  reply[7], reply[9], reply[10] = 1, f[9] or '', now
  return reply
end
local max_messages, max_tokens = limit(f[6], ARGV[2]), limit(f[7], ARGV[3])
local max_history = limit(f[8], ARGV[4])

local seq = tonumber(f[2])
local first_seq = seq + 1
local elements = {}
for i = 1, k do
  seq = seq + 1
  elements[i] = cmsgpack.pack({seq, toks[i], kinds[i]}) .. bodies[i]
end
call_chunked('RPUSH', msgs, elements)
local n_before = tonumber(f[3])
local created = {}
if n_before == 0 then created[1] = msgs end
local n = n_before + k
local tokens = tonumber(f[4]) + added
local trimmed, through = 0, 0
while n > 0 do
  local over = n > 1 and (n > max_messages or tokens > max_tokens)
  if not over then
    if n_before > 0 and trimmed == 0 then break end
    if header(redis.call('LINDEX', msgs, 0))[3] ~= KIND_TOOL_RESULT then break end
  end
  local head
  if max_history > 0 then
    head = redis.call('LMOVE', msgs, arch, 'LEFT', 'RIGHT')
  else
    head = redis.call('LPOP', msgs)
  end
  local h = header(head)
  trimmed, n, tokens, through = trimmed + 1, n - 1, tokens - h[2], h[1]
end
if trimmed > 0 and max_history > 0 then
  local archived = redis.call('LLEN', arch)
  if archived == trimmed then created[#created + 1] = arch end
  if archived > max_history then redis.call('LTRIM', arch, -max_history, -1) end
end

local v = tonumber(f[10]) + 1
local reply = {v, first_seq, seq, n, tokens, trimmed, 0, through}
-- dedup: this call's reply; a full generation becomes the previous one
local dn = (tonumber(f[17]) or 0) + 1
redis.call('HSET', KEYS[4], ids[1], string.format('%d,%d,%d,%d,%d,%d,%d,%d', v, first_seq, seq,
  n, tokens, trimmed, 0, through))
if dn == 1 then created[#created + 1] = KEYS[4] end
if dn >= int_arg(ARGV[5], 'dedup window') then
  redis.call('RENAME', KEYS[4], KEYS[5])
  if dn == 1 then created[#created] = KEYS[5] end
  dn = 0
end
local pm = (tonumber(f[18]) or 0) + k
local pt = (tonumber(f[19]) or 0) + added
local pr = (tonumber(f[20]) or 0) + trimmed
local fields = {'v', d(v), 'seq', d(seq), 'n', d(n), 'tokens', d(tokens), 'active', d(now),
  'total_messages', d(tonumber(f[11]) + k), 'total_tokens', d(tonumber(f[12]) + added),
  'total_trimmed', d(tonumber(f[13]) + trimmed), 'dn', d(dn)}
if name_hint ~= '' and (f[5] == false or f[5] == '') then
  fields[#fields + 1], fields[#fields + 2] = 'name', name_hint
end
local at = slide_ttl(f[16], ttl_of(f[14], f[15], now), now, created)
if at then
  fields[#fields + 1], fields[#fields + 2] = 'expires', d(at)
  count_stat('messages', d(pm))
  count_stat('tokens', d(pt))
  count_stat('trimmed', d(pr))
  pm, pt, pr = 0, 0, 0
end
fields[#fields + 1], fields[#fields + 2] = 'pm', d(pm)
fields[#fields + 1], fields[#fields + 2] = 'pt', d(pt)
fields[#fields + 1], fields[#fields + 2] = 'pr', d(pr)
redis.call('HSET', meta, unpack(fields))

if channel ~= '' then
  local payload = string.format(
    '{"type":"appended","sid":"%s","v":%d,"seq":%d,"first_seq":%d,"count":%d,"n":%d,' ..
    '"tokens":%d,"trimmed":%d,"through_seq":%d,"ts":%d}',
    f[1], v, seq, first_seq, k, n, tokens, trimmed, through, now)
  local global, own = string.match(channel, '^(%S*) ?(%S*)$')
  if global ~= '' then redis.call('PUBLISH', global, payload) end
  if own ~= '' then redis.call('SPUBLISH', own, payload) end
end
reply[9], reply[10] = f[9] or '', now
return reply
