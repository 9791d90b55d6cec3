-- Streaming replies: shared by begin_reply, push_reply, abort_reply, reap_reply and append
-- (whose commit step ends a reply). A reply of session <sid> has two keys under the session's
-- hash tag and one record in its slot's `replies` ZSET (keys/ReplyKeys in redisession/_keys.py):
--   reply    HASH    rid (= the id of the message it becomes), sid, role, name, n (pushes so far),
--                    dl (deadline ms: the last push + timeout), started (ms), tc (tool-call deltas,
--                    one JSON array per line)
--   text     STRING  the text so far; its length is the byte offset of the next delta
--   replies  ZSET    '<sid>/<rid>' -> z, for the sweep (reap_replies.lua)
-- A reply past dl is abandoned: no push or commit is accepted, and begin_reply or a follower
-- (which read dl itself) report it at once. The sweep's record `z` (also in the hash) and the
-- keys' expiry (z + timeout) move in steps of half a timeout, not on every push: z is always at
-- or after dl and at most half a timeout after it, so the sweep never reports a live reply and
-- reports a dead one at most that late, and the keys stay readable at least a timeout past dl.

local function reply_member(sid, rid)
  return sid .. '/' .. rid
end

-- The new sweep record for deadline `dl` when the recorded one `z` (nil: none) is before it,
-- else nil: then nothing needs to move.
local function step_due(z, dl, timeout)
  z = tonumber(z)
  if z and z >= dl then return nil end
  return dl + math.floor(timeout / 2)
end

-- Writes sweep record `z` and the keys' expiry z + timeout.
local function step_expiry(reply, text, replies, sid, rid, z, timeout)
  redis.call('PEXPIREAT', reply, z + timeout)
  redis.call('PEXPIREAT', text, z + timeout)
  redis.call('ZADD', replies, z, reply_member(sid, rid))
end

-- Drops a reply's keys and its record; returns 1 if this call removed the record, which makes
-- it the one call that reports how the reply ended (the sweep may have reported it already).
local function end_reply(reply, text, replies, sid, rid)
  redis.call('DEL', reply, text)
  return redis.call('ZREM', replies, reply_member(sid, rid))
end

-- Ends a reply found past its deadline and reports it (once) as reply_abandoned.
local function abandon_reply(reply, text, replies, sid, rid, channel, now)
  local off = redis.call('STRLEN', text)
  if end_reply(reply, text, replies, sid, rid) == 1 then
    publish(channel, {type = 'reply_abandoned', sid = sid, rid = rid, off = off, ts = now})
  end
end

-- append's commit step, before its first write: the reply `rid` must still stream, with the
-- `n` pushes the committing client made (so the message it sends holds the text followers saw).
local function check_commit(reply, rid, n, now)
  local r = redis.call('HMGET', reply, 'rid', 'n', 'dl')
  if r[1] ~= rid then
    fail('RS_GONE', 'reply ' .. rid .. ' is not streaming (aborted, abandoned or replaced)')
  end
  if tonumber(r[3]) < now then fail('RS_GONE', 'reply ' .. rid .. ' timed out (abandoned)') end
  if tonumber(r[2]) ~= tonumber(n) then
    fail('RS_INVALID', 'commit after ' .. n .. ' pushes, but the reply holds ' .. r[2])
  end
end

-- append's commit step, after its writes: the provisional reply is now message `rid` (seq).
local function finish_commit(reply, text, replies, sid, rid, channel, v, call, seq, now)
  local off = redis.call('STRLEN', text)
  end_reply(reply, text, replies, sid, rid)
  publish(channel, {type = 'reply_committed', sid = sid, rid = rid, v = v, w = call, seq = seq,
    off = off, ts = now})
end
