#!lua
--[[ incr_state: add a number to a per-session variable (a missing variable counts as 0).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] field   [3] amount   [4] 1 = integer amount, 0 = float
Returns  {v, the new value as JSON text}
Errors   RS_NOT_FOUND no such session;  RS_INVALID the variable holds something that is not a
         number, or the amount is not a number
Event    state_updated {type, sid, v, keys, ts}
An integer variable incremented by an integer stays an integer (HINCRBY, exact to 2^63);
anything else uses HINCRBYFLOAT. Not idempotent by nature: a retried call adds twice.
]]
--- @include "lib/session"

local field, amount, integer = ARGV[2], ARGV[3], ARGV[4] == '1'
if tonumber(amount) == nil then fail('RS_INVALID', 'amount must be a number') end
local f = redis.call('HMGET', KEYS[1], 'id')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local current = redis.call('HGET', KEYS[6], field)
if current and tonumber(current) == nil then
  fail('RS_INVALID', 'state ' .. field .. ' holds ' .. current .. ', not a number')
end

local now = now_ms()
local value
if integer and (not current or string.match(current, '^-?%d+$')) then
  redis.call('HINCRBY', KEYS[6], field, amount)
  value = redis.call('HGET', KEYS[6], field)  -- as text: a Lua number would round past 2^53
else
  value = redis.call('HINCRBYFLOAT', KEYS[6], field, amount)
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
expire_all(session_ttl_ms(KEYS[1], now), now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, keys = {field}, ts = now})
return {v, value}
