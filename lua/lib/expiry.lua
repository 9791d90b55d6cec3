-- expire_due: count, forget and announce up to `limit` sessions of this slot whose expiry,
-- as `live` records it, has passed (strictly: a key lives through its PEXPIREAT millisecond).
-- Each is reported once, by whichever script removes it from `live` (create.lua, a few at a
-- time, or expire_slot.lua for sweep()). `global` is the store's channel ('' = none); each
-- session's own channel is own_head .. sid .. own_tail ('' = none). Needs lib/session.
local function expire_due(live, stats, global, own_head, own_tail, limit, now)
  local gone = redis.call('ZRANGEBYSCORE', live, '-inf', '(' .. now, 'LIMIT', 0, limit)
  if #gone == 0 then return gone end
  redis.call('ZREM', live, unpack(gone))
  redis.call('HINCRBY', stats, 'expired', #gone)
  for _, sid in ipairs(gone) do
    local channel = global
    if own_head ~= '' then channel = channel .. ' ' .. own_head .. sid .. own_tail end
    publish(channel, {type = 'expired', sid = sid, ts = now})
  end
  return gone
end

-- The affixes of the per-session channel, from a script's events argument ('global own',
-- own = head .. sid .. tail), so other sessions of the slot get their own channel too.
local function own_affixes(channel, sid)
  local _, own = string.match(channel, '^(%S*) ?(%S*)$')
  local i, j = string.find(own or '', '{' .. sid .. '}', 1, true)
  if not i then return '', '' end
  return string.sub(own, 1, i), string.sub(own, j)
end
