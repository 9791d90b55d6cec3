#!lua
--[[ incr_state: add a number to a per-session variable (a missing variable counts as 0).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] field   [5] amount   [6] 1 = integer amount, 0 = float
Returns  {v, the new value as JSON text}; a retry (same call id) returns the first call's reply
         and adds nothing
Errors   RS_NOT_FOUND no such session;  RS_INVALID the variable holds something that is not a
         number, or the amount is not a number;  RS_CORRUPTED meta is damaged
Event    state_updated {type, sid, v, w, keys, ts}
An integer variable incremented by an integer stays an integer (HINCRBY, exact to 2^63);
anything else uses HINCRBYFLOAT.
]]
--- @include "lib/session"

local call, dedup_ttl = call_args()
local field, amount, integer = ARGV[4], ARGV[5], ARGV[6] == '1'
if tonumber(amount) == nil then fail('RS_INVALID', 'amount must be a number') end
local f = redis.call('HMGET', KEYS[1], 'id', 'v', 'ttl', 'deadline', 'dr')
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
local v = num(f[2], 'v') + 1
local now = now_ms()
local ttl = ttl_of(f[3], f[4], now)

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
local started = remember(call, v .. ' ' .. value, f[5], dedup_ttl, now)
redis.call('HSET', KEYS[1], unpack(stamp({}, v, call, started)))
expire_all(ttl, now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, w = call, keys = {field}, ts = now})
return {v, value}
