-- Shared by the message scripts (pop, delete_message, edit, replace, archive_oldest): finding a
-- message by id, and the meta update every window rewrite makes. Needs lib/session.
--
-- A stored element is the header [seq, tokens, kind] followed by the body, a msgpack array
-- whose first field is the message id. The client sends the id exactly as the body encodes it
-- (msgpack bytes: 16 raw bytes for a 32-hex id, else a string), so finding a message compares
-- bytes at a known offset: no body is decoded. Cost: one LRANGE of the list and one header
-- decode per element looked at, newest first (windows are bounded by max_messages).

-- The 0-based index in `list` of the element whose body starts with `id_field`, the element,
-- and its header; nil when no element has it. A header that cannot be read fails the script
-- (RS_CORRUPTED) before any write.
local function find_message(list, id_field)
  local elements = redis.call('LRANGE', list, 0, -1)
  for i = #elements, 1, -1 do
    local e = elements[i]
    local ok, off, h = pcall(cmsgpack.unpack_one, e)
    if not ok or type(h) ~= 'table' or type(h[1]) ~= 'number' or type(h[2]) ~= 'number' then
      corrupted('the message at ' .. list .. ' index ' .. (i - 1) .. ' has no readable header')
    end
    -- off bytes of header; then the body's array marker (1 byte: bodies have < 16 fields)
    if string.sub(e, off + 2, off + 1 + #id_field) == id_field then
      return i - 1, e, h
    end
  end
  return nil
end

-- Meta after a write of these scripts: version and write tag (stamp), counts, activity, and
-- `rw` (rewrites) + 1 unless `keeps_window`: it tells caches that a window they hold cannot be
-- extended by later messages (see _cache.merge_after). Then the TTL of every key (last: keys
-- this call created get it too).
local function rewrote(meta, v, call, started, f_rw, n, tokens, now, ttl, extra, keeps_window)
  local fields = {'n', n, 'tokens', tokens, 'active', now}
  if not keeps_window then
    fields[#fields + 1], fields[#fields + 2] = 'rw', (tonumber(f_rw) or 0) + 1
  end
  for _, x in ipairs(extra or {}) do fields[#fields + 1] = x end
  redis.call('HSET', meta, unpack(stamp(fields, v, call, started)))
  expire_all(ttl, now)
end
