#!lua
--[[ append: add messages to a session's window and trim it to its limits, in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] max_messages  [5] max_tokens  [6] max_history   store defaults; meta overrides win
      [7] name hint: the session's name if it has none yet ('' = none)
      [8] k, the number of messages, then 4 arguments per message:
          id, tokens (integer >= 0), kind (lib/session: 0 plain, 1 tool call, 2 tool result,
          3 continuation), body
      then the bookkeeping counters of lib/books (4 + 2 t arguments; none = all zero)
      then, to commit a streaming reply (lib/reply; k = 1, the message id is the reply's rid):
          the reply's push count; KEYS[10..12] are then its reply, text and replies keys
Returns  {v, first_seq, last_seq, n, tokens, trimmed, duplicate, trimmed_through_seq,
          user, now_ms}   (user and time: for the per-user index the client updates next)
         n and tokens are the window's after trimming; duplicate = 1 when this call is a retry of
         one already stored (identified by its first message id, remembered for the dedup TTL):
         nothing is written and the stored reply of the first call is returned.
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments
         RS_ID_CONFLICT the first message id belongs to a stored call whose other ids differ
         RS_CORRUPTED meta or the window is damaged (see lib/session)
         RS_INACTIVE the session is deactivated;  RS_GONE (commit) the reply no longer streams
         (all raised before the first write: nothing is written)
Events   appended {type, sid, v, w, seq, first_seq, count, n, tokens, trimmed, through_seq,
                   tokens_in, tokens_out, tool_calls, ts}   (one per call: trimmed = messages
                   the trim moved out, through_seq = the last of them, both 0 when none)
         reply_committed {type, sid, rid, v, w, seq, off, ts}             (commit)
Trimming drops the oldest messages while the window holds more than max_messages or more than
max_tokens (the limits never drop the newest message), then keeps dropping while the window
would start on a tool result or a continuation (kind >= 2), so a tool result never outlives the
call it answers. Dropped
messages move to arch, capped at max_history (0 = dropped for good). Which messages go is decided
from their headers before anything is written.
]]
--- @include "lib/session"
--- @include "lib/reply"
--- @include "lib/books"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel, name_hint = ARGV[1], ARGV[7]
local call, dedup_ttl = call_args()
local k = int_arg(ARGV[8], 'message count')
if k == 0 then fail('RS_INVALID', 'append needs at least one message') end
local books = read_books(8 + 4 * k)
local commit_n = ARGV[books.next]
if #ARGV ~= books.next - 1 + (commit_n and 1 or 0) or (commit_n and k ~= 1) then
  fail('RS_INVALID', 'expected ' .. (books.next - 1) .. ' arguments for ' .. k .. ' messages, got ' .. #ARGV)
end

-- Validate everything before the first write: Redis does not roll a script back.
local ids, toks, kinds, bodies, added = {}, {}, {}, {}, 0
for i = 1, k do
  local at = 8 + (i - 1) * 4
  ids[i] = ARGV[at + 1]
  toks[i] = int_arg(ARGV[at + 2], 'tokens')
  kinds[i] = int_arg(ARGV[at + 3], 'kind')
  bodies[i] = ARGV[at + 4]
  if ids[i] == '' then fail('RS_INVALID', 'message id is empty') end
  if kinds[i] > 3 then fail('RS_INVALID', 'kind must be 0, 1, 2 or 3') end
  added = added + toks[i]
end
-- A call of several messages is remembered under its first id with a digest of all of them, so
-- a later call that reuses the first id with other messages is refused, not silently dropped.
local digest = ''
if k > 1 then digest = '|' .. redis.sha1hex(table.concat(ids, '\0')) end

-- Everything the script needs from meta, in one call, each field named once.
local f = redis.call('HMGET', meta, 'id', 'seq', 'n', 'tokens', 'name',
  'max_messages', 'max_tokens', 'max_history', 'user', 'v',
  'total_messages', 'total_tokens', 'total_trimmed', 'ttl', 'deadline', 'expires', 'dr',
  'state', 'tin', 'tout')
local sid, name, user, rotated = f[1], f[5], f[9], f[17]
if not sid then fail('RS_NOT_FOUND', 'no session with this id') end

-- A retried call (same first message id) gets the first call's reply and writes nothing.
local seen = recall(ids[1])
if seen then
  local csv, seen_digest = string.match(seen, '^([^|]*)(.*)$')
  local reply = {}
  for x in string.gmatch(csv, '[^,]+') do reply[#reply + 1] = tonumber(x) end
  if seen_digest ~= digest or reply[3] - reply[2] + 1 ~= k then
    fail('RS_ID_CONFLICT', 'message id ' .. ids[1] .. ' was stored by an earlier call with '
      .. 'other messages')
  end
  reply[7] = 1
  reply[9], reply[10] = user or '', now_ms()
  return reply
end

if f[18] == 'inactive' then fail('RS_INACTIVE', 'the session is deactivated') end
local seq, n_before, tokens_before = num(f[2], 'seq'), num(f[3], 'n'), num(f[4], 'tokens')
local v = num(f[10], 'v') + 1
local totals = {num(f[11], 'total_messages'), num(f[12], 'total_tokens'),
  num(f[13], 'total_trimmed')}
local max_messages = limit(f[6], ARGV[4])
local max_tokens = limit(f[7], ARGV[5])
local max_history = limit(f[8], ARGV[6])
local now = now_ms()
local ttl = ttl_of(f[14], f[15], now)
check_window(n_before)
if commit_n then check_commit(KEYS[10], ids[1], commit_n, now) end

local first_seq = seq + 1
local elements = {}
for i = 1, k do
  seq = seq + 1
  elements[i] = cmsgpack.pack({seq, toks[i], kinds[i]}) .. bodies[i]
end

-- Plan the trim from the head, reading only: limits first, then any tool result left at the
-- front. Position i of the window-to-be is an old message (read with LINDEX, header checked)
-- or one of this call's. A window that was not empty never starts on a tool result (every
-- append leaves it so), so when no limit is exceeded only a window that was empty needs its
-- head looked at.
local n, tokens = n_before + k, tokens_before + added
local cut, through, removed = 0, 0, {}
while n > 0 do
  local over = n > 1 and (n > max_messages or tokens > max_tokens)
  if not over and n_before > 0 and cut == 0 then break end
  local e, h
  if cut < n_before then
    e = redis.call('LINDEX', msgs, cut)
    h = checked_header(e, 'window index', cut)
  else
    local i = cut - n_before + 1
    e, h = elements[i], {first_seq + i - 1, toks[i], kinds[i]}
  end
  if not over and h[3] < KIND_TOOL_RESULT then break end
  cut = cut + 1
  removed[cut] = e
  n, tokens, through = n - 1, tokens - h[2], h[1]
end

-- Writes. Keys this call brings into being need the session's expiry.
local created = {}
call_chunked('RPUSH', msgs, elements)
if n_before == 0 then created[1] = msgs end
if cut > 0 then
  redis.call('LTRIM', msgs, cut, -1)
  if max_history > 0 then
    -- LLEN-free: RPUSH answers the archive's length (the last chunk's reply)
    local archived = 0
    for i = 1, cut, CHUNK do
      archived = redis.call('RPUSH', arch, unpack(removed, i, math.min(i + CHUNK - 1, cut)))
    end
    if archived == cut then created[#created + 1] = arch end
    if archived > max_history then redis.call('LTRIM', arch, -max_history, -1) end
  end
end

local reply = {v, first_seq, seq, n, tokens, cut, 0, through}
local started, new_dedup = remember(ids[1], string.format('%d,%d,%d,%d,%d,%d,0,%d',
  v, first_seq, seq, n, tokens, cut, through) .. digest, rotated, dedup_ttl, now)
if new_dedup then created[#created + 1] = new_dedup end

local fields = stamp({'seq', int_str(seq), 'n', int_str(n), 'tokens', int_str(tokens),
  'active', int_str(now), 'total_messages', int_str(totals[1] + k),
  'total_tokens', int_str(totals[2] + added), 'total_trimmed', int_str(totals[3] + cut)},
  v, call, started)
books_fields(fields, books, f[19], f[20])
if name_hint ~= '' and (name == false or name == '') then
  fields[#fields + 1], fields[#fields + 2] = 'name', name_hint
end
local at = slide_ttl(f[16], ttl, now, created)
if at then fields[#fields + 1], fields[#fields + 2] = 'expires', int_str(at) end
redis.call('HSET', meta, unpack(fields))

count_stat('messages', k, now)
count_stat('tokens', added, now)
count_stat('trimmed', cut)
count_books(meta, books)
local events = channel  -- the cjson path below clears `channel` once it has published
-- One event per append: `trimmed` and `through_seq` say what the trim moved out (0 when
-- nothing). The event as text: a session id of [A-Za-z0-9._-] (what the client allows) and the
-- call id (hex) need no JSON escaping, so string.format builds what cjson.encode would, for a
-- fraction of its cost. Any other id (data imported by hand) goes through cjson.
if string.find(sid, '[^%w._-]') then
  publish(channel, {type = 'appended', sid = sid, v = v, w = call, seq = seq,
    first_seq = first_seq, count = k, n = n, tokens = tokens, trimmed = cut,
    through_seq = through, tokens_in = books.tin, tokens_out = books.tout,
    tool_calls = books.calls, ts = now})
  channel = ''
end
publish_json(channel, string.format('{"type":"appended","sid":"%s","v":%d,"w":"%s","seq":%d,'
  .. '"first_seq":%d,"count":%d,"n":%d,"tokens":%d,"trimmed":%d,"through_seq":%d,'
  .. '"tokens_in":%d,"tokens_out":%d,"tool_calls":%d,"ts":%d}', sid, v, call, seq, first_seq, k,
  n, tokens, cut, through, books.tin, books.tout, books.calls, now))
if commit_n then
  finish_commit(KEYS[10], KEYS[11], KEYS[12], sid, ids[1], events, v, call, seq, now)
end
reply[9], reply[10] = user or '', now
return reply
