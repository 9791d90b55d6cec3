#!lua flags=no-writes
--[[ dump: everything of one session, as one consistent snapshot (for export).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] at most this many elements in one reply ('' = no limit)
Returns  {meta as a flat HGETALL list, remaining TTL ms, state as a flat HGETALL list,
          window elements, archive elements}   or {} when the session does not exist;
         when window + archive hold more than ARGV[1] elements, both lists are empty and a 6th
         item 1 says so: the client then reads them in pages (read_page.lua 'history')
]]
local m = redis.call('HGETALL', KEYS[1])
if #m == 0 then return {} end
local limit = tonumber(ARGV[1])
if limit and redis.call('LLEN', KEYS[2]) + redis.call('LLEN', KEYS[3]) > limit then
  return {m, redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[6]), {}, {}, 1}
end
return {m, redis.call('PTTL', KEYS[1]), redis.call('HGETALL', KEYS[6]),
        redis.call('LRANGE', KEYS[2], 0, -1), redis.call('LRANGE', KEYS[3], 0, -1)}
