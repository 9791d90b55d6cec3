#!lua
--[[ import_session: write one exported session (meta, window, archive, state) in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] overwrite (1 = replace a session with this id)   [5] remaining TTL ms (> 0)
      [6] meta fields as a JSON object of strings   [7] s, state fields   [8] w, window elements
      then 2*s state arguments (field, JSON value), w window elements, the archive elements
Returns  the session's version after the import; a retry (same call id) returns it again and
         writes nothing
Errors   RS_EXISTS a session with this id exists and overwrite is 0
         RS_INVALID malformed arguments (nothing written)
Event    created {type, sid, user, v, w, imported = true, ts}
The version is the exported one, or one more than the replaced session's if that was higher,
so caches holding the old session see a newer version; the write tag is this call's id.
]]
--- @include "lib/session"

local channel, overwrite = ARGV[1], ARGV[4] == '1'
local call, dedup_ttl = call_args()
local ttl = int_arg(ARGV[5], 'ttl ms')
if ttl == 0 then fail('RS_INVALID', 'import needs a positive TTL') end
local s = int_arg(ARGV[7], 'state count')
local w = int_arg(ARGV[8], 'window count')
if #ARGV < 8 + 2 * s + w then fail('RS_INVALID', 'fewer arguments than the counts say') end
local ok, fields = pcall(cjson.decode, ARGV[6])
if not ok or type(fields) ~= 'table' or type(fields.id) ~= 'string' or not tonumber(fields.v) then
  fail('RS_INVALID', 'meta must be a JSON object with id and v')
end

local seen = recall(call)
if seen then return tonumber(seen) end
local old_v = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  if not overwrite then fail('RS_EXISTS', 'session ' .. fields.id .. ' already exists') end
  old_v = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
end

local flat = {}
for k, v in pairs(fields) do
  if k ~= 'v' and k ~= 'w' and k ~= 'dr' then
    flat[#flat + 1] = k
    flat[#flat + 1] = tostring(v)
  end
end
local v = tonumber(fields.v)
if old_v >= v then v = old_v + 1 end
local now = now_ms()
-- retry records (dedup) stay: they name calls, not content
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[6], KEYS[7])
local started = remember(call, v, nil, dedup_ttl, now)
redis.call('HSET', KEYS[1], unpack(stamp(flat, v, call, started)))
if s > 0 then call_chunked('HSET', KEYS[6], ARGV, 9, 8 + 2 * s) end
local first = 9 + 2 * s
if w > 0 then call_chunked('RPUSH', KEYS[2], ARGV, first, first + w - 1) end
if #ARGV >= first + w then call_chunked('RPUSH', KEYS[3], ARGV, first + w, #ARGV) end
expire_all(ttl, now)
if old_v == 0 then count_stat('created', 1) end
publish(channel, {type = 'created', sid = fields.id, user = fields.user or '', v = v, w = call,
  imported = true, ts = now})
return v
