"""``python -m benchmarks.floor [--quick] [--callgrind] [--docs]``: how cheap can an append be?

Issue 14 asked for a steady-state append at <= 2.0x the server CPU of the minimal Lua append
(RPUSH, LTRIM, HINCRBY, 2x PEXPIRE), with every guarantee kept. This benchmark prices the
guarantees themselves, each implemented the cheapest way we know in Lua, added one at a time to
the minimal script (the ladder): a version and counters kept in a hash (read before, written
after), a retry record per call (one ``SET NX GET PX``: lookup and record in one command), the
event, trimming by tokens (the head's header read before the trim), the archive. No argument
checks, no window check, no TTL step, no stats, no write tag: the ladder is a lower bound for
any script that keeps those guarantees, not a design.

Then two whole scripts: ``FLOOR`` (below), the cheapest append we could write that keeps the
guarantees the ladder prices with the storage reorganised for it (hot counters packed in one
msgpack meta field, window and archive in one list, one key per call for retries, one event;
it leaves out the stats counters and the TTL step), and append.lua as shipped. Rows interleave
(A, B, C, A, B, C, ...) and print the median round of ``INFO commandstats`` usec_per_call; with
``--callgrind`` the same scripts run on a redis-server under valgrind and print instructions
per call, which do not depend on what else the machine runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgpack

from redisession import SessionStore
from redisession._scripts import source
from redisession.testing import redis_url_or_private

from .anatomy import append_op, medians
from .callgrind import server_under_callgrind
from .limits import MINIMAL_APPEND, stored_element
from .report import publish

SECTION = "## How cheap can an append be (the floor)"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
CALLS, ROUNDS = 1000, 7

# KEYS: list, meta, retry-record prefix, archive.  ARGV: max messages, TTL ms, call id, element
_READ = "local f = redis.call('HMGET', KEYS[2], 'v', 'n', 'tokens')\n"
_DEDUP = ("if redis.call('SET', KEYS[3] .. ARGV[3], '1', 'NX', 'GET', 'PX', ARGV[2]) then "
          "return 0 end\n")
_HEAD = ("local e = redis.call('LINDEX', KEYS[1], 0)\nlocal tokens = (tonumber(f[3]) or 0) + 50\n"
         "if e then local _, h = cmsgpack.unpack_one(e); tokens = tokens - h[2] end\n")
_PUSH = "local n = redis.call('RPUSH', KEYS[1], ARGV[4])\n"
_TRIM = "redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)\n"
_ARCHIVE = ("if n > tonumber(ARGV[1]) then\n  redis.call('LMOVE', KEYS[1], KEYS[4], 'LEFT', "
            "'RIGHT')\n  n = n - 1\n  redis.call('LTRIM', KEYS[4], -1000, -1)\nend\n")
_WRITE = "local v = (tonumber(f[1]) or 0) + 1\nredis.call('HSET', KEYS[2], 'v', v, 'n', n)\n"
_WRITE_T = ("local v = (tonumber(f[1]) or 0) + 1\n"
            "redis.call('HSET', KEYS[2], 'v', v, 'n', n, 'tokens', tokens)\n")
_EXPIRE = ("redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
           "redis.call('PEXPIRE', KEYS[2], ARGV[2])\n")
_EXPIRE3 = _EXPIRE + "redis.call('PEXPIRE', KEYS[4], ARGV[2])\n"
_EVENT = ("redis.call('PUBLISH', 'floor-events', string.format("
          "'{\"type\":\"appended\",\"v\":%d,\"w\":\"%s\",\"n\":%d}', v, ARGV[3], n))\n")

LADDER: dict[str, str] = {
    "+ version and counters: HMGET before, HSET after (not HINCRBY)":
        _READ + _PUSH + _TRIM + _WRITE + _EXPIRE + "return n",
    "+ retry record: one SET NX GET PX per call":
        _READ + _DEDUP + _PUSH + _TRIM + _WRITE + _EXPIRE + "return n",
    "+ event: one PUBLISH":
        _READ + _DEDUP + _PUSH + _TRIM + _WRITE + _EXPIRE + _EVENT + "return n",
    "+ trim by tokens: the head's header read first (LINDEX), a token count":
        _READ + _DEDUP + _HEAD + _PUSH + _TRIM + _WRITE_T + _EXPIRE + _EVENT + "return n",
    "+ archive: the trimmed message moved (LMOVE), the archive capped (LTRIM)":
        _READ + _DEDUP + _HEAD + _PUSH + _ARCHIVE + _WRITE_T + _EXPIRE3 + _EVENT + "return n",
}
"""Each step is the minimal script plus one more guarantee, at its cheapest."""

FLOOR = """#!lua
-- The cheapest whole append we could write (a prototype, not shipped): meta field c holds the
-- hot counters as one msgpack array, field k the limits; window = the last n elements of one
-- list whose head is the archive; a retry record is a key per call (SET NX GET PX), looked up
-- and written in one command after the plan. Same KEYS and ARGV as append.lua.
local function fail(code, message) error({err = code .. ' ' .. message}) end
local meta, msgs, channel, call = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
if #call ~= 32 or string.find(call, '[^0-9a-f]') then fail('RS_INVALID', 'call id') end
local k = tonumber(ARGV[8])
local toks, kinds, added, elements = {}, {}, 0, {}
for i = 1, k do
  local at = 4 + i * 4
  local t, kind = tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  if not t or t < 0 or not kind or kind > 3 or ARGV[at + 1] == '' then
    fail('RS_INVALID', 'bad message')
  end
  toks[i], kinds[i], added = t, kind, added + t
end
local f = redis.call('HMGET', meta, 'c', 'k', 'id', 'user')
if not f[3] then fail('RS_NOT_FOUND', 'no session with this id') end
local ok, c = pcall(cmsgpack.unpack, f[1])
local ok2, cf = pcall(cmsgpack.unpack, f[2])
if not (ok and ok2) or type(c) ~= 'table' or #c ~= 10 then fail('RS_CORRUPTED', 'meta c') end
local v, seq, n0, tok0 = c[1] + 1, c[2], c[3], c[4]
if cf[6] == 1 then fail('RS_INACTIVE', 'the session is deactivated') end
local max_messages, max_tokens = cf[3] or tonumber(ARGV[4]), cf[4] or tonumber(ARGV[5])
local max_history = cf[5] or tonumber(ARGV[6])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local first_seq = seq + 1
for i = 1, k do
  seq = seq + 1
  elements[i] = cmsgpack.pack({seq, toks[i], kinds[i]}) .. ARGV[8 + i * 4]
end
local n, tokens, cut, through = n0 + k, tok0 + added, 0, 0
while n > 0 do
  local over = n > 1 and (n > max_messages or tokens > max_tokens)
  if not over and n0 > 0 and cut == 0 then break end
  local s, tk, kd
  if cut < n0 then
    local e = redis.call('LINDEX', msgs, cut - n0)
    if not e then fail('RS_CORRUPTED', 'the window is shorter than n') end
    local _, h = cmsgpack.unpack_one(e)
    s, tk, kd = h[1], h[2], h[3]
  else
    local i = cut - n0 + 1
    s, tk, kd = first_seq + i - 1, toks[i], kinds[i]
  end
  if not over and kd < 2 then break end
  cut = cut + 1
  n, tokens, through = n - 1, tokens - tk, s
end
local reply = cmsgpack.pack({v, first_seq, seq, n, tokens, cut, through})
if redis.call('SET', KEYS[4] .. ':' .. ARGV[9], reply, 'NX', 'GET', 'PX', ARGV[3]) then
  return 0
end
if redis.call('RPUSH', msgs, unpack(elements)) > n + max_history then
  redis.call('LTRIM', msgs, -(n + max_history), -1)
end
c[1], c[2], c[3], c[4], c[5], c[6], c[7] = v, seq, n, tokens, c[5] + k, c[6] + added, c[7] + cut
redis.call('HSET', meta, 'c', cmsgpack.pack(c), 'w', call)
if channel ~= '' then
  redis.call('PUBLISH', channel, string.format('{"type":"appended","sid":"%s","v":%d,'
    .. '"w":"%s","seq":%d,"first_seq":%d,"count":%d,"n":%d,"tokens":%d,"trimmed":%d,'
    .. '"through_seq":%d,"ts":%d}', f[3], v, call, seq, first_seq, k, n, tokens, cut, through,
    now))
end
return {v, first_seq, seq, n, tokens, cut, 0, through, f[4] or '', now}
"""


def ladder_ops(client: Any) -> dict[str, Callable[[], object]]:
    """The minimal script and each ladder step, on a session already past its window."""
    element = stored_element("x" * 200)
    scripts = {"minimal append script (limits.py)": MINIMAL_APPEND}
    scripts.update({name: "#!lua\n" + body for name, body in LADDER.items()})
    ops: dict[str, Callable[[], object]] = {}
    for i, (name, code) in enumerate(scripts.items()):
        script = client.register_script(code)
        tag = f"floor:{{{i}}}"
        keys = [f"{tag}:list", f"{tag}:meta", f"{tag}:c:", f"{tag}:arch"]
        calls = iter(range(1, 1 << 62))

        def op(script: Any = script, keys: list[str] = keys, calls: Iterator[int] = calls,
               minimal: bool = i == 0) -> object:
            if minimal:
                return script(keys=keys[:2], args=[200, 3_600_000, element])
            return script(keys=keys, args=[200, 3_600_000, f"{next(calls):032x}", element])

        for _ in range(250):
            op()
        ops[name] = op
    return ops


def floor_op(store: SessionStore) -> Callable[[], object]:
    """`FLOOR` on a store session whose meta was rewritten into the prototype's layout."""
    sid = store.create().id
    keys = store._keys(sid)
    counters = [int(x or 0) for x in store.client.hmget(
        keys.meta, "v", "seq", "n", "tokens", "total_messages", "total_tokens",
        "total_trimmed", "tin", "tout", "expires")]
    store.client.hset(keys.meta, mapping={
        "c": msgpack.packb(counters), "k": msgpack.packb([86400, 0, None, None, None, 0])})
    return append_op(store, FLOOR, session=sid)


def build(store: SessionStore) -> dict[str, Callable[[], object]]:
    ops = ladder_ops(store.client)
    ops["floor prototype: whole append, storage reorganised (no stats, no TTL step)"] = \
        floor_op(store)
    ops["append.lua as shipped"] = append_op(store, source("append"))
    return ops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round of 50 calls")
    ap.add_argument("--callgrind", action="store_true",
                    help="instructions per call under valgrind instead of commandstats µs")
    ap.add_argument("--docs", action="store_true", help=f"write the section to {DOCS}")
    args = ap.parse_args(argv)
    rounds, calls = (1, 50) if args.quick else (ROUNDS, CALLS)
    if args.callgrind:
        with server_under_callgrind() as (url, instructions):
            store = SessionStore.from_url(url, prefix="floor")
            version = store.client.info("server")["redis_version"]
            figures = {name: instructions(op, 150) / 1000 for name, op in build(store).items()}
            store.close()
        unit = "k instructions per call (callgrind)"
    else:
        with redis_url_or_private() as url:
            store = SessionStore.from_url(url, prefix="floor")
            version = store.client.info("server")["redis_version"]
            found = medians(store.client, dict(build(store)), rounds, calls)
            for key in store.client.scan_iter(match="floor*", count=1000):
                store.client.delete(key)
            store.close()
        figures = {name: value or 0.0 for name, value in found.items()}
        unit = f"Redis µs per call (`INFO commandstats`, median of {rounds} rounds)"
    minimal = figures["minimal append script (limits.py)"]
    header = [f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
              f"`python -m benchmarks.floor{' --callgrind' if args.callgrind else ''}`; "
              f"redis-server {version}",
              "- steady state: every append trims one message; the ladder adds one guarantee "
              "per row, each at its cheapest (see the module's docstring)"]
    lines = [f"| script | {unit} | × minimal |", "|---|---|---|"]
    lines += [f"| {name} | {value:,.1f} | {value / minimal:.2f}× |"
              for name, value in figures.items()]
    publish(SECTION, header, lines, DOCS if args.docs and not args.quick else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
