#!lua
--[[ stats_prune: count the sessions of one slot whose TTL ran out, and forget them.
KEYS  [1] stats  HASH  the slot's counters   [2] live  ZSET  sid -> expiry ms
      (the stats and live keys of lib/session; no session keys: this script reads no session)
ARGV  none
Returns  how many sessions expired since the last prune
The expiry scores are written by expire_all in the same script that set the keys' TTL, so a
score in the past means Redis has expired (or will on next access) every key of that session.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local gone = redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if gone > 0 then redis.call('HINCRBY', KEYS[1], 'expired', gone) end
return gone
