#!lua flags=allow-oom
--[[ delete_message: remove one message, found by id, from the window or else the archive.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] the message id as its body encodes it (msgpack bytes)
Returns  {v, seq}   seq 0 when no message has this id (nothing written, v unchanged)
Errors   RS_NOT_FOUND no such session;  RS_CORRUPTED meta or a list is damaged
         RS_INVALID malformed arguments
Event    message_deleted {type, sid, v, w, seq, n, tokens, ts}
Cost: one LRANGE of the window (and of the archive when the id is not in the window), newest
first, comparing the id's bytes; no body is decoded. The messages around the deleted one keep
their seqs (the window has a gap). A retry returns the first call's reply. Runs when Redis is
out of memory (allow-oom): it frees a message.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local call, dedup_ttl = call_args()
local id_field = ARGV[4]
if not id_field or id_field == '' then fail('RS_INVALID', 'the message id is empty') end
local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw', 'ttl', 'deadline', 'dr')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recalled(call)
if seen then return seen end
local n, tokens, v = num(f[2], 'n'), num(f[3], 'tokens'), num(f[4], 'v')
check_window(n)
local list = msgs
local at, element, h = find_message(msgs, id_field)
if not at then
  list = arch
  at, element, h = find_message(arch, id_field)
end
if not at then return {v, 0} end
local now = now_ms()
local ttl = ttl_of(f[6], f[7], now)

-- checks done: writes (the element is unique: its header holds its seq)
redis.call('LREM', list, -1, element)
if list == msgs then n, tokens = n - 1, tokens - h[2] end
v = v + 1
local started = record(call, {v, h[1]}, '', f[8], dedup_ttl, now)
rewrote(meta, v, call, started, f[5], n, tokens, now, ttl)
publish(ARGV[1], {type = 'message_deleted', sid = f[1], v = v, w = call, seq = h[1], n = n,
  tokens = tokens, ts = now})
return {v, h[1]}
