#!lua flags=allow-oom
--[[ delete_message: remove one message, found by id, from the window or else the archive.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] call id   [3] dedup window
      [4] the message id as its body encodes it (msgpack bytes)
Returns  {v, seq}   seq 0 when no message has this id (nothing written, v unchanged)
Errors   RS_NOT_FOUND no such session;  RS_INVALID malformed arguments
Event    message_deleted {type, sid, v, seq, n, tokens, ts}
Cost: one LRANGE of the window (and of the archive when the id is not in the window), newest
first, comparing the id's bytes; no body is decoded. The messages around the deleted one keep
their seqs (the window has a gap). A retry returns the first call's reply.
]]
--- @include "lib/session"
--- @include "lib/messages"

local meta, msgs, arch = KEYS[1], KEYS[2], KEYS[3]
local channel, call_id, id_field = ARGV[1], ARGV[2], ARGV[4]
local dedup_window = int_arg(ARGV[3], 'dedup window')
if call_id == '' or id_field == '' then fail('RS_INVALID', 'call id or message id is empty') end

local f = redis.call('HMGET', meta, 'id', 'n', 'tokens', 'v', 'rw')
if not f[1] then fail('RS_NOT_FOUND', 'no session with this id') end
local seen = recall_call(call_id)
if seen then return seen end

local list, n, tokens = msgs, tonumber(f[2]), tonumber(f[3])
local at, element, h = find_message(msgs, id_field)
if not at then
  list = arch
  at, element, h = find_message(arch, id_field)
end
if not at then return {tonumber(f[4]), 0} end

-- checks done: writes (the element is unique: its header holds its seq)
redis.call('LREM', list, -1, element)
if list == msgs then n, tokens = n - 1, tokens - h[2] end
local now = now_ms()
local v = tonumber(f[4]) + 1
remember_call(call_id, {v, h[1]}, '', dedup_window)
rewrote(meta, v, f[5], n, tokens, now)
publish(channel, {type = 'message_deleted', sid = f[1], v = v, seq = h[1], n = n,
  tokens = tokens, ts = now})
return {v, h[1]}
