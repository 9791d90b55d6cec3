#!lua
--[[ record_error: count a model error of a session (and keep the last one's detail).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] kind ([A-Za-z0-9._-]: 'timeout', 'rate_limit', ...)   [5] detail (free text)
Returns  {v, model_errors}: the version and the session's model error count after the call; a
         retry (same call id) returns the first call's reply and counts nothing
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments;  RS_CORRUPTED meta damaged
Event    error_recorded {type, sid, v, w, kind, detail, model_errors, ts}
Meta keeps `model_errors`, one `err:<kind>` counter per kind and `last_error` (JSON);
the slot's stats count `model_errors`.
]]
--- @include "lib/session"

local meta = KEYS[1]
local call, dedup_ttl = call_args()
local channel, kind, detail = ARGV[1], ARGV[4], ARGV[5]
if kind == '' or not string.match(kind, '^[A-Za-z0-9._-]+$') then
  fail('RS_INVALID', 'error kind must be [A-Za-z0-9._-]+')
end
local f = redis.call('HMGET', meta, 'id', 'v', 'model_errors', 'dr', 'ttl', 'deadline')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local v = num(f[2], 'v') + 1
local now = now_ms()
local ttl = ttl_of(num(f[5], 'ttl'), f[6], now)
local count = (tonumber(f[3]) or 0) + 1

local started = record(call, {v, count}, nil, f[4], dedup_ttl, now)
redis.call('HSET', meta, 'model_errors', count, 'last_error',
  cjson.encode({kind = kind, detail = detail, ts = now}), unpack(stamp({}, v, call, started)))
redis.call('HINCRBY', meta, 'err:' .. kind, 1)
expire_all(ttl, now)
count_stat('model_errors', 1)
publish(channel, {type = 'error_recorded', sid = f[1], v = v, w = call, kind = kind,
  detail = detail, model_errors = count, ts = now})
return {v, count}
