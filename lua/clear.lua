#!lua flags=allow-oom
--[[ clear: empty a session's window, archive and summary; keep the session, its state, its
counters and its retry records.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
Returns  {v, number of messages removed (window + archive)}; a retry (same call id) returns the
         first call's reply and removes nothing, not even messages appended since
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta is damaged
Event    cleared {type, sid, v, w, count, seq, ts}
seq keeps counting from where it was, so message seqs stay unique for the session's life.
Runs when Redis is out of memory (allow-oom): it frees memory; its own record is a few bytes.
]]
--- @include "lib/session"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local call, dedup_ttl = call_args()
local f = redis.call('HMGET', meta, 'id', 'seq', 'v', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local seq, v = num(f[2], 'seq'), num(f[3], 'v') + 1
local now = now_ms()
local ttl = ttl_of(f[4], f[5], now)

local removed = redis.call('LLEN', msgs) + redis.call('LLEN', arch)
redis.call('UNLINK', msgs, arch)  -- a big list is freed off the main thread
-- The summary described the removed messages: it goes too, and the watermark moves to the
-- last seq, so a later summary starts after the clear. Dedup stays: a retry of an append sent
-- before the clear is still a retry, not a new message.
redis.call('HDEL', meta, 'summary', 'summary_tokens')
local started = record(call, {v, removed}, nil, f[6], dedup_ttl, now)
redis.call('HSET', meta, unpack(stamp({'n', 0, 'tokens', 0, 'active', now, 'summary_seq', seq},
  v, call, started)))
expire_all(ttl, now)
publish(ARGV[1], {type = 'cleared', sid = f[1], v = v, w = call, count = removed, seq = seq,
  ts = now})
return {v, removed}
