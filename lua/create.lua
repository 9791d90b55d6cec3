#!lua
--[[ create: make a new, empty session.
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel ('' = none)   [2] session id   [3] user id ('' = none)   [4] name
      [5] metadata JSON ('' = none)    [6] idle TTL seconds (> 0)   [7] lifetime seconds (0 = none)
      [8] max_messages  [9] max_tokens  [10] max_history   (per-session overrides, '' = store default)
      [11] create token: a retry of the same call finds its own token and succeeds
      [12] exist_ok: '1' = a session with this id is returned as it is (no error, no write)
Returns  {meta as a flat HGETALL list, remaining TTL ms}
Errors   RS_EXISTS a session with this id exists (created by another call) and exist_ok is not '1'
         RS_INVALID an argument is malformed
Event    created {type, sid, user, v, ts}
]]
--- @include "lib/session"

local channel, sid, user, name, metadata = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local ttl = int_arg(ARGV[6], 'ttl')
local lifetime = int_arg(ARGV[7], 'lifetime')
local token = ARGV[11]
if ttl == 0 then fail('RS_INVALID', 'ttl must be positive') end
for i = 8, 10 do
  if ARGV[i] ~= '' then int_arg(ARGV[i], 'limit') end
end

if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[12] ~= '1' and redis.call('HGET', KEYS[1], 'ctok') ~= token then
    fail('RS_EXISTS', 'session ' .. sid .. ' already exists')
  end
else
  local now = now_ms()
  local deadline = 0
  if lifetime > 0 then deadline = now + lifetime * 1000 end
  redis.call('HSET', KEYS[1],
    'id', sid, 'user', user, 'name', name, 'metadata', metadata,
    'created', now, 'active', now, 'ttl', ttl, 'deadline', deadline,
    'v', 1, 'seq', 0, 'n', 0, 'tokens', 0,
    'total_messages', 0, 'total_tokens', 0, 'total_trimmed', 0, 'ctok', token)
  local names = {'max_messages', 'max_tokens', 'max_history'}
  for i = 1, 3 do
    if ARGV[7 + i] ~= '' then redis.call('HSET', KEYS[1], names[i], ARGV[7 + i]) end
  end
  expire_all(session_ttl_ms(KEYS[1], now), now)
  count_stat('created', 1)
  publish(channel, {type = 'created', sid = sid, user = user, v = 1, ts = now})
end

return {redis.call('HGETALL', KEYS[1]), redis.call('PTTL', KEYS[1])}
