#!lua flags=allow-oom
--[[ delete_state: remove per-session variables.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4..] field names (at least one)
Returns  {v, number of fields that existed}; a retry (same call id) returns the first call's
         reply and removes nothing (not a field set again since)
Errors   RS_NOT_FOUND no such session;  RS_INVALID no field names;  RS_CORRUPTED meta is damaged
Event    state_updated {type, sid, v, w, keys, deleted = true, ts}
Runs when Redis is out of memory (allow-oom): it frees memory; its own record is a few bytes.
]]
--- @include "lib/session"

local call, dedup_ttl = call_args()
if #ARGV < 4 then fail('RS_INVALID', 'delete_state needs at least one field name') end
local f = redis.call('HMGET', KEYS[1], 'id', 'v', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local v = num(f[2], 'v') + 1
local now = now_ms()
local ttl = ttl_of(f[3], f[4], now)

local names = {}
for i = 4, #ARGV do names[#names + 1] = ARGV[i] end
local removed = call_chunked('HDEL', KEYS[6], names)
local started = record(call, {v, removed}, nil, f[5], dedup_ttl, now)
redis.call('HSET', KEYS[1], unpack(stamp({}, v, call, started)))
expire_all(ttl, now)
publish(ARGV[1], {type = 'state_updated', sid = f[1], v = v, w = call, keys = names,
  deleted = true, ts = now})
return {v, removed}
