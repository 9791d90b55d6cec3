#!lua flags=allow-oom
--[[ pop: remove the newest message of a session's window and return it.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id (the same on a retry of one API call)
      [3] dedup window (retry records kept, as for append)
Returns  {v, seq, element}   element '' (seq 0) when the window was empty (nothing written)
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta counts a message the list lacks
Event    popped {type, sid, v, seq, n, tokens, ts}
The popped message is gone (not archived). seq keeps counting: the next append gets a new
seq, never the popped one's. A retry of a call that popped returns the same message and pops
nothing more.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs = KEYS[1], KEYS[2]
local channel, call_id = ARGV[1], ARGV[2]
local dedup_window = int_arg(ARGV[3], 'dedup window')
if call_id == '' then fail('RS_INVALID', 'call id is empty') end

local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall_call(call_id)
if seen then return seen end
local n, tokens = tonumber(f[2]), tonumber(f[3])
if n == 0 then return {tonumber(f[4]), 0, ''} end
local last = redis.call('LINDEX', msgs, -1)
if not last then fail('RS_CORRUPTED', 'meta counts ' .. n .. ' messages but the window is empty') end

-- checks done: writes
redis.call('RPOP', msgs)
local h = header(last)
local now = now_ms()
n, tokens = n - 1, tokens - h[2]
local v = tonumber(f[4]) + 1
remember_call(call_id, {v, h[1]}, last, dedup_window)
rewrote(meta, v, f[5], n, tokens, now)
publish(channel, {type = 'popped', sid = f[1], v = v, seq = h[1], n = n, tokens = tokens, ts = now})
return {v, h[1], last}
