#!lua
--[[ record_error: count a model error of a session (and keep the last one's detail).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id: a retry of this call counts once
      [3] kind ([A-Za-z0-9._-]: 'timeout', 'rate_limit', ...)   [4] detail (free text)
      [5] dedup window (as append's)
Returns  {v, model_errors}: the version and the session's model error count after the call
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments
Event    error_recorded {type, sid, v, kind, detail, model_errors, ts}
Meta keeps `model_errors`, one `err:<kind>` counter per kind and `last_error` (JSON);
the slot's stats count `model_errors`.
]]
--- @include "lib/session"

local meta = KEYS[1]
local channel, call, kind, detail = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local window = int_arg(ARGV[5], 'dedup window')
if kind == '' or not string.match(kind, '^[A-Za-z0-9._-]+$') then
  fail('RS_INVALID', 'error kind must be [A-Za-z0-9._-]+')
end
if call == '' then fail('RS_INVALID', 'call id is empty') end
local f = redis.call('HMGET', meta, 'id', 'v', 'model_errors')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall('err:' .. call)
if seen then
  local a, b = string.match(seen, '^(%d+),(%d+)$')
  return {tonumber(a), tonumber(b)}
end

local now = now_ms()
local v = tonumber(f[2]) + 1
local count = (tonumber(f[3]) or 0) + 1
redis.call('HSET', meta, 'v', v, 'model_errors', count, 'last_error',
  cjson.encode({kind = kind, detail = detail, ts = now}))
redis.call('HINCRBY', meta, 'err:' .. kind, 1)
remember('err:' .. call, v .. ',' .. count, window)
expire_all(session_ttl_ms(meta, now), now)
count_stat('model_errors', 1)
publish(channel, {type = 'error_recorded', sid = f[1], v = v, kind = kind, detail = detail,
  model_errors = count, ts = now})
return {v, count}
