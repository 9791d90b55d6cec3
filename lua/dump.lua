#!lua flags=no-writes
--[[ dump: everything of one session, as one consistent snapshot (for export).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  none
Returns  {meta as a flat HGETALL list, remaining TTL ms, state as a flat HGETALL list,
          window elements, archive elements}   or {} when the session does not exist
]]
local m = redis.call('HGETALL', KEYS[1])
if #m == 0 then return {} end
return {m, redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[6]),
        redis.call('LRANGE', KEYS[2], 0, -1), redis.call('LRANGE', KEYS[3], 0, -1)}
