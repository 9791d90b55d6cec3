#!lua flags=allow-oom
--[[ pop: remove the newest message of a session's window and return it.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
Returns  {v, seq, element}   element '' (seq 0) when the window was empty (nothing written)
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta or the window is damaged
         RS_INVALID malformed arguments
Event    popped {type, sid, v, w, seq, n, tokens, ts}
The popped message is gone (not archived). seq keeps counting: the next append gets a new
seq, never the popped one's. A retry of a call that popped returns the same message and pops
nothing more. Runs when Redis is out of memory (allow-oom): it frees a message.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs = KEYS[1], KEYS[2]
local call, dedup_ttl = call_args()
local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local n, tokens, v = num(f[2], 'n'), num(f[3], 'tokens'), num(f[4], 'v')
if n == 0 then return {v, 0, ''} end
check_window(n)
local last = redis.call('LINDEX', msgs, -1)
local h = checked_header(last, 'window index ' .. (n - 1))
local now = now_ms()
local ttl = ttl_of(f[6], f[7], now)

-- checks done: writes
redis.call('RPOP', msgs)
n, tokens, v = n - 1, tokens - h[2], v + 1
local started = record(call, {v, h[1]}, last, f[8], dedup_ttl, now)
rewrote(meta, v, call, started, f[5], n, tokens, now, ttl)
publish(ARGV[1], {type = 'popped', sid = f[1], v = v, w = call, seq = h[1], n = n,
  tokens = tokens, ts = now})
return {v, h[1], last}
