#!lua flags=allow-oom
--[[ claim_slots: the store-wide due index of sweep(): slot tag -> when that slot's `live`
index next holds an expired session. Claiming pushes a slot's score a lease ahead, so sweepers
of other instances take other slots; settling files the slot's next due time.
KEYS  [1] due  ZSET  slot tag -> ms   ({prefix}:stats:due, one key for the store)
ARGV  [1] 'claim': [2] at most this many slots   [3] lease ms
          Returns {lease score, tag...}: the slots due now, each now leased to the caller
      [1] 'settle': [2] the lease score of the claim, then pairs [tag, next due ms (0 = none)]
          Returns the number of slots settled. A slot whose score moved away from the lease
          (a create filed an earlier time meanwhile) keeps the earlier of the two; a slot with
          nothing left leaves the index, unless a create filed it again meanwhile.
Runs when Redis is out of memory (allow-oom): sweeping only removes, and its scores are small.
]]
--- @include "lib/session"

local mode = ARGV[1]
if mode == 'claim' then
  local now = now_ms()
  local lease = now + int_arg(ARGV[3], 'lease')
  local tags = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, int_arg(ARGV[2], 'count'))
  local reply = {lease}
  for _, tag in ipairs(tags) do
    redis.call('ZADD', KEYS[1], lease, tag)
    reply[#reply + 1] = tag
  end
  return reply
elseif mode == 'settle' then
  local lease = tonumber(ARGV[2])
  local settled = 0
  for i = 3, #ARGV - 1, 2 do
    local tag, due = ARGV[i], tonumber(ARGV[i + 1])
    local current = tonumber(redis.call('ZSCORE', KEYS[1], tag))
    if current == lease then
      if due > 0 then redis.call('ZADD', KEYS[1], due, tag) else redis.call('ZREM', KEYS[1], tag) end
    elseif due > 0 and (current == nil or due < current) then
      redis.call('ZADD', KEYS[1], due, tag)
    end
    settled = settled + 1
  end
  return settled
end
fail('RS_INVALID', 'claim_slots mode must be claim or settle, got ' .. tostring(mode))
