#!lua flags=allow-oom
--[[ expire_slot: count, forget and announce the sessions of one slot whose TTL ran out.
Runs when Redis is out of memory (allow-oom): it only removes scores and bumps a counter.
KEYS  [1] stats  HASH  the slot's counters   [2] live  ZSET  sid -> expiry ms
      (the stats and live keys of lib/session, in the slot of every session they count)
ARGV  [1] events channel ('' = none)
      [2], [3] per-session channel = ARGV[2] .. sid .. ARGV[3] ('' = none), e.g. 'rs:{' '}:events'
      [4] at most this many sessions per call
Returns  {next, sid...}: the ids of the sessions that expired since the last run on this slot,
         and `next`, when the slot is next due (ms: its earliest remaining expiry, now when
         more than ARGV[4] were due, 0 when `live` is empty); the client files it in the due
         index (claim_slots.lua) so sweep() visits only slots with something to expire
Events   expired {type, sid, ts}   once per session, on the store channel and the session's own
The expiry scores are written by expire_all in the same script that set the keys' TTL (and
delete.lua removes the session), so a score in the past means Redis has expired, or will on the
next access, every key of that session. Reading and removing them in one script is what makes
each expiry reported once, however many instances sweep at the same time.
]]
--- @include "lib/session"
--- @include "lib/expiry"

local now = now_ms()
local limit = tonumber(ARGV[4]) or 1000
local gone = expire_due(KEYS[2], KEYS[1], ARGV[1], ARGV[2], ARGV[3], limit, now)
local next_due = 0
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #first > 0 then next_due = math.max(tonumber(first[2]), now) end
local reply = {next_due}
for _, sid in ipairs(gone) do reply[#reply + 1] = sid end
return reply
