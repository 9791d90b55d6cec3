-- read_session: the body shared by read.lua and read_touch.lua.
--- @include "lib/seek"
-- `limit` ('' = no limit) caps the elements of one call: a big window or archive is read in
-- pages (read_page.lua continues), so no single call blocks Redis for long.
local function read_session(what, after, limit)
  local m = redis.call('HGETALL', KEYS[1])
  if #m == 0 then return {} end
  local reply = {m, redis.call('PTTL', KEYS[1]), 0}
  local page = tonumber(limit)
  local last = -1
  if page then last = page - 1 end
  local elements
  if what == 'meta' then
    return reply
  elseif what == 'history' then
    elements = redis.call('LRANGE', KEYS[3], 0, last)
    if not page or #elements < page then
      local rest = -1
      if page then rest = page - #elements - 1 end
      for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, rest)) do elements[#elements + 1] = e end
    end
  elseif what == 'after' then
    local head = redis.call('LINDEX', KEYS[2], 0)
    local from = 0
    if head and tonumber(after) + 1 >= seq_of(head) then
      from = first_after(KEYS[2], tonumber(after))
      reply[3] = 1
    end
    local to = -1
    if page then to = from + page - 1 end
    elements = redis.call('LRANGE', KEYS[2], from, to)
  elseif what == 'tail' then  -- the newest `limit` messages of the window
    elements = redis.call('LRANGE', KEYS[2], page and -page or 0, -1)
  else
    elements = redis.call('LRANGE', KEYS[2], 0, last)
  end
  for _, e in ipairs(elements) do reply[#reply + 1] = e end
  return reply
end
