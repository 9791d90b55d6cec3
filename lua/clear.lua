#!lua
--[[ clear: empty a session's window and archive; keep the session, its state and its counters.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)
Returns  {v, number of messages removed (window + archive)}
Errors   RS_NOT_FOUND no such session
Event    cleared {type, sid, v, count, seq, ts}
seq keeps counting from where it was, so message seqs stay unique for the session's life.
Running it twice is safe: the second run removes nothing and only bumps the version.
]]
--- @include "lib/session"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local f = redis.call('HMGET', meta, 'id', 'seq')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end

local now = now_ms()
local removed = redis.call('LLEN', msgs) + redis.call('LLEN', arch)
redis.call('DEL', msgs, arch, KEYS[4], KEYS[5])
local v = redis.call('HINCRBY', meta, 'v', 1)
redis.call('HSET', meta, 'n', 0, 'tokens', 0, 'active', now)
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'cleared', sid = f[1], v = v, count = removed, seq = tonumber(f[2]), ts = now})
return {v, removed}
