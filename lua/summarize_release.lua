#!lua
--[[ summarize_release: give the summary lease back (the summarizer failed or had nothing to do).
KEYS  the session keys (lib/session): meta msgs arch dedup dedup_prev state lease stats live
ARGV  [1] lease token
Returns  1 when this token held the lease, else 0 (a retry, or the lease had expired)
Only the lease changes, so the version does not; no event.
]]
if redis.call('GET', KEYS[7]) == ARGV[1] then
  redis.call('DEL', KEYS[7])
  return 1
end
return 0
