#!lua
--[[ clear: empty a session's window, archive and summary; keep the session, its state, its
counters and its retry records.
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
redis.call('UNLINK', msgs, arch)  -- a big list is freed off the main thread
-- The summary described the removed messages: it goes too, and the watermark moves to the
-- last seq, so a later summary starts after the clear. Dedup stays: a retry of an append sent
-- before the clear is still a retry, not a new message.
redis.call('HDEL', meta, 'summary', 'summary_tokens')
local v = redis.call('HINCRBY', meta, 'v', 1)
redis.call('HSET', meta, 'n', 0, 'tokens', 0, 'active', now, 'summary_seq', f[2])
expire_all(session_ttl_ms(meta, now), now)
publish(ARGV[1], {type = 'cleared', sid = f[1], v = v, count = removed, seq = tonumber(f[2]), ts = now})
return {v, removed}
