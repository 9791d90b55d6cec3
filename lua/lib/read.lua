-- read_session: the body shared by read.lua and read_touch.lua.
local function read_session(what, after)
  local m = redis.call('HGETALL', KEYS[1])
  if #m == 0 then return {} end
  local reply = {m, redis.call('PTTL', KEYS[1]), 0}
  local elements
  if what == 'meta' then
    return reply
  elseif what == 'history' then
    elements = redis.call('LRANGE', KEYS[3], 0, -1)
    for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do elements[#elements + 1] = e end
  elseif what == 'after' then
    local head = redis.call('LINDEX', KEYS[2], 0)
    local from = 0
    if head then
      local _, h = cmsgpack.unpack_one(head)
      local first = h[1]
      if tonumber(after) + 1 >= first then
        from = tonumber(after) + 1 - first
        reply[3] = 1
      end
    end
    elements = redis.call('LRANGE', KEYS[2], from, -1)
  else
    elements = redis.call('LRANGE', KEYS[2], 0, -1)
  end
  for _, e in ipairs(elements) do reply[#reply + 1] = e end
  return reply
end
