#!lua
--[[ update: rename a session and/or replace its metadata.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] '1' to set the name, else '0'   [5] the name
      [6] '1' to set the metadata, else '0'   [7] metadata JSON ('' = none)
Returns  {meta as a flat HGETALL list, remaining TTL ms}; a retry (same call id) writes nothing
         and returns the meta as it is
Errors   RS_NOT_FOUND no such session;  RS_INVALID nothing to update;  RS_CORRUPTED meta damaged
Event    updated {type, sid, v, w, fields, ts}   fields: the names of what changed
]]
--- @include "lib/session"

local meta = KEYS[1]
local call, dedup_ttl = call_args()
local set_name, set_meta = ARGV[4] == '1', ARGV[6] == '1'
if not set_name and not set_meta then fail('RS_INVALID', 'update needs a name or metadata') end
local f = redis.call('HMGET', meta, 'id', 'v', 'dr', 'ttl', 'deadline')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
if recall(call) then return {redis.call('HGETALL', meta), redis.call('PTTL', meta)} end
local v = num(f[2], 'v') + 1
local now = now_ms()
local ttl = ttl_of(num(f[4], 'ttl'), f[5], now)

local fields, changed = {}, {}
if set_name then
  fields[#fields + 1], fields[#fields + 2] = 'name', ARGV[5]
  changed[#changed + 1] = 'name'
end
if set_meta then
  fields[#fields + 1], fields[#fields + 2] = 'metadata', ARGV[7]
  changed[#changed + 1] = 'metadata'
end
local started = remember(call, v, f[3], dedup_ttl, now)
redis.call('HSET', meta, unpack(stamp(fields, v, call, started)))
expire_all(ttl, now)
publish(ARGV[1], {type = 'updated', sid = f[1], v = v, w = call, fields = changed, ts = now})
return {redis.call('HGETALL', meta), redis.call('PTTL', meta)}
