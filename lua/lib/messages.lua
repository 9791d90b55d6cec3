-- Shared by the message scripts (pop, delete_message, edit, replace): finding a message by id,
-- the retry record of a call, and the meta update every window rewrite makes.
--
-- A stored element is the header [seq, tokens, kind] followed by the body, a msgpack array
-- whose first field is the message id. The client sends the id exactly as the body encodes it
-- (msgpack bytes: 16 raw bytes for a 32-hex id, else a string), so finding a message compares
-- bytes at a known offset: no body is decoded. Cost: one LRANGE of the list and one header
-- decode per element looked at, newest first (windows are bounded by max_messages).

-- The 0-based index in `list` of the element whose body starts with `id_field`, the element,
-- and its header; nil when no element has it.
local function find_message(list, id_field)
  local elements = redis.call('LRANGE', list, 0, -1)
  for i = #elements, 1, -1 do
    local e = elements[i]
    local off, h = cmsgpack.unpack_one(e)
    -- off bytes of header; then the body's array marker (1 byte: bodies have < 16 fields)
    if string.sub(e, off + 2, off + 1 + #id_field) == id_field then
      return i - 1, e, h
    end
  end
  return nil
end

-- A call already applied (same call id) returns its stored reply: the fields before the
-- first newline are numbers, the rest (possibly empty, possibly binary) is one string.
local function recall_call(call_id)
  local seen = recall('c:' .. call_id)
  if not seen then return nil end
  local head, rest = string.match(seen, '^([^\n]*)\n(.*)$')
  local reply = {}
  for x in string.gmatch(head, '[^,]+') do reply[#reply + 1] = tonumber(x) end
  reply[#reply + 1] = rest
  return reply
end

local function remember_call(call_id, numbers, rest, window)
  return remember('c:' .. call_id, table.concat(numbers, ',') .. '\n' .. (rest or ''), window)
end

-- Meta after a rewrite of the window: new version, counts, and `rw` (rewrites) + 1, which tells
-- caches that a window they hold cannot be extended by later messages (see _cache.merge_after).
-- Refreshes the TTL of every key (last: keys this call created get it too).
local function rewrote(meta, v, f_rw, n, tokens, now, extra)
  local fields = {'v', v, 'n', n, 'tokens', tokens, 'active', now, 'rw', (tonumber(f_rw) or 0) + 1}
  for _, x in ipairs(extra or {}) do fields[#fields + 1] = x end
  redis.call('HSET', meta, unpack(fields))
  expire_all(session_ttl_ms(meta, now), now)
end
