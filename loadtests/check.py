"""Correctness after load: compare what the sessions hold with what the ledger says was
acknowledged. Exit status 1 and one line per violation when anything is off.

    python loadtests/check.py [--url redis://...] [--prefix load]

For every session in the ledger, read all its keys in one MULTI (a consistent snapshot):
  - every acknowledged message id is stored exactly once (archive + window);
  - seqs run 1, 2, ... last seq with no gap (the load test keeps every trimmed message);
  - meta: n = window length, tokens = sum of window tokens, seq = last seq,
    total_messages = last seq, total_tokens = sum of all stored tokens;
  - a session may be missing only if it was a short-TTL churn session, and then entirely.
Then every key under ``{prefix}:`` must have a TTL (PTTL != -1).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ledger import acked_key, churn_key, prefix, sessions_key, url  # noqa: E402

from redisession._codec import decode_element  # noqa: E402
from redisession._keys import session_keys, store_wide_key_patterns  # noqa: E402
from redisession._ops import _text, hash_fields  # noqa: E402


@dataclass
class Report:
    sessions: int = 0
    expired: int = 0
    acked: int = 0
    acked_expired: int = 0
    stored: int = 0
    keys: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and self.acked > 0


def check_session(client: redis.Redis, p: str, sid: str, churn: bool, report: Report) -> None:
    keys = session_keys(p, sid)
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(keys.meta)
    pipe.lrange(keys.arch, 0, -1)
    pipe.lrange(keys.msgs, 0, -1)
    pipe.exists(*keys.own)
    meta_raw, arch, window, present = pipe.execute()
    acked = {_text(x) for x in client.smembers(acked_key(p, sid))}
    report.acked += len(acked)
    bad = report.violations.append
    if not meta_raw:
        if present:
            bad(f"{sid}: meta is gone but {present} other key(s) of the session remain")
        elif churn:
            report.expired += 1
            report.acked_expired += len(acked)
        else:
            bad(f"{sid}: session missing; {len(acked)} acknowledged message(s) lost")
        return
    meta = hash_fields(meta_raw)
    history = [decode_element(e) for e in arch + window]
    report.stored += len(history)
    counts = Counter(m.id for m in history)
    dups = {i: c for i, c in counts.items() if c > 1}
    if dups:
        bad(f"{sid}: {len(dups)} message id(s) stored more than once, e.g. {next(iter(dups))}")
    lost = acked - set(counts)
    if lost:
        bad(f"{sid}: {len(lost)} acknowledged message(s) missing, e.g. {next(iter(lost))}")
    seqs = [m.seq for m in history]
    last = int(meta["seq"])
    if seqs != list(range(1, last + 1)):
        bad(f"{sid}: seqs are not 1..{last} without gaps (got {len(seqs)} seqs, "
            f"first {seqs[:3]}, last {seqs[-3:]})")
    wtokens = sum(m.tokens or 0 for m in history[len(arch):])
    expect = {"n": len(window), "tokens": wtokens, "total_messages": last,
              "total_tokens": sum(m.tokens or 0 for m in history)}
    for name, value in expect.items():
        if int(meta.get(name, -1)) != value:
            bad(f"{sid}: meta {name} = {meta.get(name)} but the stored messages say {value}")


def check_ttls(client: redis.Redis, p: str, report: Report,
               exempt: Sequence[str] = ()) -> None:
    """Every key under ``p:`` has a TTL, except the store-wide keys that have none by design
    (`store_wide_key_patterns`: user indexes, stats counters) and keys matching an extra
    ``exempt`` glob."""
    allowed = (*store_wide_key_patterns(p), *exempt)
    for raw_key in client.scan_iter(match=f"{p}:*", count=1000):
        key = _text(raw_key)
        report.keys += 1
        if client.pttl(key) == -1 and not any(fnmatch(key, g) for g in allowed):
            report.violations.append(f"key {key} has no TTL")


def check(client: redis.Redis, p: str, exempt: Sequence[str] = ()) -> Report:
    """Run every check on the sessions the ledger under ``p`` names."""
    report = Report()
    churn = {_text(x) for x in client.smembers(churn_key(p))}
    for sid in sorted(_text(x) for x in client.smembers(sessions_key(p))):
        report.sessions += 1
        check_session(client, p, sid, sid in churn, report)
    check_ttls(client, p, report, exempt)
    if report.acked == 0:
        report.violations.append(f"the ledger under {p}-ledger: records no acknowledged append: "
                                 "did the load test run against this Redis and prefix?")
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="check sessions against the load test's ledger")
    ap.add_argument("--url", default=url(), help="Redis URL (default $REDIS_URL)")
    ap.add_argument("--prefix", default=prefix(), help="key prefix (default $RS_LOAD_PREFIX)")
    ap.add_argument("--no-ttl-ok", action="append", default=[], metavar="GLOB",
                    help="keys matching GLOB may lack a TTL too (repeatable; the store's shared "
                         "stats and user-index keys always may)")
    args = ap.parse_args(argv)
    with redis.Redis.from_url(args.url) as client:
        report = check(client, args.prefix, args.no_ttl_ok)
    print(f"sessions {report.sessions} (churn sessions expired as expected: {report.expired}); "
          f"acknowledged messages {report.acked} ({report.acked_expired} in expired sessions); "
          f"stored messages {report.stored}; keys scanned for a TTL {report.keys}")
    for line in report.violations:
        print(f"VIOLATION {line}", file=sys.stderr)
    print("OK" if report.ok else f"FAILED: {len(report.violations)} violation(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
