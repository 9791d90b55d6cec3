#!lua flags=allow-oom
--[[ expire_slot: count, forget and announce the sessions of one slot whose TTL ran out.
Runs when Redis is out of memory (allow-oom): it only removes scores and bumps a counter.
KEYS  [1] stats  HASH  the slot's counters   [2] live  ZSET  sid -> expiry ms
      (the stats and live keys of lib/session, in the slot of every session they count)
ARGV  [1] events channel ('' = none)
      [2], [3] per-session channel = ARGV[2] .. sid .. ARGV[3] ('' = none), e.g. 'rs:{' '}:events'
Returns  the ids of the sessions that expired since the last run of this script on this slot
Events   expired {type, sid, ts}   once per session, on the store channel and the session's own
The expiry scores are written by expire_all in the same script that set the keys' TTL (and
delete.lua removes the session), so a score in the past means Redis has expired, or will on the
next access, every key of that session. Reading and removing them in one script is what makes
each expiry reported once, however many instances sweep at the same time.
]]
--- @include "lib/session"

local now = now_ms()
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
if #gone == 0 then return gone end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('HINCRBY', KEYS[1], 'expired', #gone)
for _, sid in ipairs(gone) do
  local own = ''
  if ARGV[2] ~= '' then own = ARGV[2] .. sid .. ARGV[3] end
  publish(ARGV[1] .. (own ~= '' and (' ' .. own) or ''), {type = 'expired', sid = sid, ts = now})
end
return gone
