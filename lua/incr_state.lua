#!lua
--[[ incr_state: add a number to a per-session variable (a missing variable counts as 0).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] field   [3] amount   [4] 1 = integer amount, 0 = float
      [5] call id (client-generated)   [6] dedup window (as append's)
Returns  {v, the new value as JSON text}; a retry (same call id) returns the first call's reply
         and adds nothing
Errors   RS_NOT_FOUND no such session;  RS_INVALID the variable holds something that is not a
         number, or the amount is not a number
Event    state_updated {type, sid, v, keys, ts}
An integer variable incremented by an integer stays an integer (HINCRBY, exact to 2^63);
anything else uses HINCRBYFLOAT. Adding is not idempotent by nature, so the call id and its
reply go to the session's dedup hash, like an append's: a retried call adds once.
]]
--- @include "lib/session"

local field, amount, integer, call = ARGV[2], ARGV[3], ARGV[4] == '1', ARGV[5]
if tonumber(amount) == nil then fail('RS_INVALID', 'amount must be a number') end
if call == nil or call == '' then fail('RS_INVALID', 'a call id is required') end
local window = int_arg(ARGV[6], 'dedup window')
local f = redis.call('HMGET', KEYS[1], 'id')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall(call)
if seen then
  local v, value = string.match(seen, '^(%d+) (.*)$')
  return {tonumber(v), value}
end
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
  if not string.find(value, '[.eEnN]') then  -- 0.5 + 0.5 is the float 1.0, not the int 1
    value = value .. '.0'
    redis.call('HSET', KEYS[6], field, value)
  end
end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
remember(call, v .. ' ' .. value, window)
expire_all(session_ttl_ms(KEYS[1], now), now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, keys = {field}, ts = now})
return {v, value}
