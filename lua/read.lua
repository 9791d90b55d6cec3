#!lua flags=no-writes
--[[ read: a session's meta and messages in one round trip (runs on replicas too).
KEYS  the session keys (lib/session): meta msgs arch (others unused)
ARGV  [1] what: 'meta' | 'window' | 'history' (archive + window) | 'after' | 'tail'
      [2] for 'after': a seq; returns only window messages with a greater seq (flagged) when
          the window's head is at or below seq + 1, else the whole window (a window with gaps
          left by pop or delete_message is searched: lib/seek)
      [3] at most this many elements ('' = all): the first page ('tail': the newest ones);
          read_page.lua reads the next
Returns  {meta as a flat HGETALL list, remaining TTL ms, partial (1 = only messages after ARGV[2]),
          elements...}   or {} when the session does not exist
]]
--- @include "lib/read"

return read_session(ARGV[1], ARGV[2], ARGV[3])
