#!lua
--[[ import_session: write one exported session (meta, window, archive, state) in one step.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] overwrite (1 = replace a session with this id)
      [3] remaining TTL ms (> 0)   [4] import token: a retry of the same call succeeds
      [5] meta fields as a JSON object of strings   [6] s, state fields   [7] w, window elements
      then 2*s state arguments (field, JSON value), w window elements, the archive elements
Returns  the session's version after the import
Errors   RS_EXISTS a session with this id exists and overwrite is 0
         RS_INVALID malformed arguments (nothing written)
Event    created {type, sid, user, v, imported = true, ts}
The version is the exported one, or one more than the replaced session's if that was higher,
so caches holding the old session see a newer version.
]]
--- @include "lib/session"

local channel, overwrite, token = ARGV[1], ARGV[2] == '1', ARGV[4]
local ttl = int_arg(ARGV[3], 'ttl ms')
if ttl == 0 or token == '' then fail('RS_INVALID', 'import needs a positive TTL and a token') end
local s = int_arg(ARGV[6], 'state count')
local w = int_arg(ARGV[7], 'window count')
if #ARGV < 7 + 2 * s + w then fail('RS_INVALID', 'fewer arguments than the counts say') end
local ok, fields = pcall(cjson.decode, ARGV[5])
if not ok or type(fields) ~= 'table' or type(fields.id) ~= 'string' or not tonumber(fields.v) then
  fail('RS_INVALID', 'meta must be a JSON object with id and v')
end

local old_v = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'itok') == token then
    return tonumber(redis.call('HGET', KEYS[1], 'v'))
  end
  if not overwrite then fail('RS_EXISTS', 'session ' .. fields.id .. ' already exists') end
  old_v = tonumber(redis.call('HGET', KEYS[1], 'v')) or 0
  redis.call('DEL', unpack(KEYS, 1, OWN_KEYS + 1))
end

local flat = {}
for k, v in pairs(fields) do
  flat[#flat + 1] = k
  flat[#flat + 1] = tostring(v)
end
local v = tonumber(fields.v)
if old_v >= v then v = old_v + 1 end
redis.call('HSET', KEYS[1], unpack(flat))
redis.call('HSET', KEYS[1], 'v', v, 'itok', token)
if s > 0 then call_chunked('HSET', KEYS[6], ARGV, 8, 7 + 2 * s) end
local first = 8 + 2 * s
if w > 0 then call_chunked('RPUSH', KEYS[2], ARGV, first, first + w - 1) end
if #ARGV >= first + w then call_chunked('RPUSH', KEYS[3], ARGV, first + w, #ARGV) end
expire_all(ttl)
if old_v == 0 then count_stat('created', 1) end
local now = now_ms()
publish(channel, {type = 'created', sid = fields.id, user = fields.user or '', v = v,
  imported = true, ts = now})
return v
