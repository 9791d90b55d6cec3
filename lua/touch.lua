#!lua flags=allow-oom
--[[ touch: refresh the sliding TTL of every key of a session, optionally setting a new idle TTL.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] new idle TTL seconds ('' = keep)  [5] publish 'touched' (0/1)
Returns  remaining TTL in ms
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed TTL;  RS_CORRUPTED meta is damaged
Event    touched {type, sid, v, ttl, ts}   only when ARGV[5] is 1
The version (and the write tag) do not change: a touch keeps content and limits as they were.
Idempotent by nature (a retry sets the same TTL again), so nothing is remembered for it, and it
runs when Redis is out of memory (allow-oom): it only rewrites a few meta fields and expiries.
]]
--- @include "lib/session"

local meta = KEYS[1]
call_args()
local new_ttl = ARGV[4]
if new_ttl ~= '' and int_arg(new_ttl, 'ttl') == 0 then fail('RS_INVALID', 'ttl must be positive') end
local f = redis.call('HMGET', meta, 'id', 'v', 'ttl', 'deadline')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local v = num(f[2], 'v')
local now = now_ms()
if new_ttl == '' then new_ttl = f[3] end
local ttl = ttl_of(new_ttl, f[4], now)

redis.call('HSET', meta, 'ttl', new_ttl, 'active', now)
expire_all(ttl, now)
if ARGV[5] == '1' then
  publish(ARGV[1], {type = 'touched', sid = f[1], v = v, ttl = ttl, ts = now})
end
return ttl
