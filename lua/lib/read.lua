-- read_session: the body shared by read.lua and read_touch.lua.

local function seq_of(element)
  local _, h = cmsgpack.unpack_one(element)
  return h[1]
end

-- The index of the first window element with a seq above `after` (past the end when none),
-- when the window's head is at or below after + 1. Appends and head trims keep the window a
-- contiguous seq range, so arithmetic finds it and one LINDEX confirms it; pop and
-- delete_message can leave a gap, and then a binary search over the headers finds it.
local function first_after(msgs, first, after)
  local guess = after + 1 - first
  local at = redis.call('LINDEX', msgs, guess)
  if at and seq_of(at) == after + 1 then return guess end
  if not at and seq_of(redis.call('LINDEX', msgs, -1)) <= after then return guess end
  local lo, hi = 0, redis.call('LLEN', msgs)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if seq_of(redis.call('LINDEX', msgs, mid)) > after then hi = mid else lo = mid + 1 end
  end
  return lo
end

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
        from = first_after(KEYS[2], first, tonumber(after))
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
