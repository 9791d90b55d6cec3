#!lua flags=allow-oom
--[[ summarize_release: give the summary lease back (the summarizer failed or had nothing to do).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] events channel (unused)   [2] call id   [3] dedup TTL ms   (lib/session call_args)
      [4] lease token
Returns  1 when this token held the lease, else 0 (a retry, or the lease had expired)
Only the lease changes, so the version does not; no event. Idempotent by nature (a retry finds
the lease gone), so nothing is remembered; runs when Redis is out of memory (allow-oom).
]]
--- @include "lib/session"

call_args()
if redis.call('GET', KEYS[7]) == ARGV[4] then
  redis.call('DEL', KEYS[7])
  return 1
end
return 0
