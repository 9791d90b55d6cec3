-- first_after: where the messages after a seq start in a list (window or archive), shared by
-- lib/read and read_page.lua.
--
-- Appends and head trims keep a list a contiguous seq range, so arithmetic from its head finds
-- the place and one LINDEX confirms it. pop and delete_message (issue 11) can leave a gap, and
-- then a binary search over the headers finds it (windows are bounded by max_messages).

local function seq_of(element)
  local _, h = cmsgpack.unpack_one(element)
  return h[1]
end

-- The 0-based index of the first element of `list` with a seq above `after`; the list's
-- length or more when there is none; 0 when the list is empty or starts after it.
local function first_after(list, after)
  local head = redis.call('LINDEX', list, 0)
  if not head then return 0 end
  local guess = after + 1 - seq_of(head)
  if guess <= 0 then return 0 end
  local at = redis.call('LINDEX', list, guess)
  if at and seq_of(at) == after + 1 then return guess end
  if not at and seq_of(redis.call('LINDEX', list, -1)) <= after then return guess end
  local lo, hi = 0, redis.call('LLEN', list)
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if seq_of(redis.call('LINDEX', list, mid)) > after then hi = mid else lo = mid + 1 end
  end
  return lo
end
