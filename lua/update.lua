#!lua
--[[ update: rename a session and/or replace its metadata.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id
      [3] '1' to set the name, else '0'   [4] the name
      [5] '1' to set the metadata, else '0'   [6] metadata JSON ('' = none)
Returns  {meta as a flat HGETALL list, remaining TTL ms}
Errors   RS_NOT_FOUND no such session;  RS_INVALID nothing to update
Event    updated {type, sid, v, fields, ts}   fields: the names of what changed
Running it twice writes the same values again (and bumps the version once more).
]]
--- @include "lib/session"

local meta = KEYS[1]
local set_name, set_meta = ARGV[3] == '1', ARGV[5] == '1'
if not set_name and not set_meta then fail('RS_INVALID', 'update needs a name or metadata') end
local f = redis.call('HMGET', meta, 'id', 'v')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end

local now = now_ms()
local v = tonumber(f[2]) + 1
local fields, changed = {'v', v}, {}
if set_name then
  fields[#fields + 1], fields[#fields + 2] = 'name', ARGV[4]
  changed[#changed + 1] = 'name'
end
if set_meta then
  fields[#fields + 1], fields[#fields + 2] = 'metadata', ARGV[6]
  changed[#changed + 1] = 'metadata'
end
redis.call('HSET', meta, unpack(fields))
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'updated', sid = f[1], v = v, fields = changed, ts = now})
return {redis.call('HGETALL', meta), redis.call('PTTL', meta)}
