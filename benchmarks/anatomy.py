"""``python -m benchmarks.anatomy [--docs]``: Redis CPU per append.lua call, part by part.

Runs append.lua and variants of it, each with one part cut out or merged, on a steady-state
session (window full, every append trims one message into the archive), and prints the
server's ``usec_per_call`` from ``INFO commandstats``. The variants are measurement tools, not
proposals to ship as they are: cutting dedup or TTL refreshes breaks guarantees. A variant
whose source text no longer matches append.lua prints n/a.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from redisession import SessionStore
from redisession._ops import append_args, prepare
from redisession._scripts import source
from redisession.testing import redis_url_or_private

from .limits import Limits
from .report import publish

SECTION = "## Anatomy of an append"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

CALLS = 1000
ROUNDS = 9
"""Variants interleave (A, B, C, A, B, C, ...); each shows its median round."""

VARIANTS: dict[str, list[tuple[str, str]]] = {
    "append.lua as shipped": [],
    "without PUBLISH (events off)": [
        ("local function publish_json(channel, payload)\n  if channel == '' then return end",
         "local function publish_json(channel, payload)\n  if true then return end")],
    "refreshing every key's TTL on every append (no step)": [
        ("local at = expiry_due(recorded, ttl, now)", "local at = now + ttl")],
    "without the dedup write (HSET)": [
        ("local started, new_dedup = remember(ids[1], string.format('%d,%d,%d,%d,%d,%d,0,%d',"
         "\n  v, first_seq, seq, n, tokens, cut, through) .. digest, rotated, dedup_ttl, now)",
         "local started, new_dedup = nil, nil")],
    "without the dedup lookup (HGET dedup, HGET dedup_prev)": [
        ("local seen = recall(ids[1])", "local seen = false")],
    "without the slot's stats counters (HINCRBY x6)": [
        ("if not KEYS[8] or by == 0 then return end", "if true then return end")],
    "without the hour buckets of the stats (HINCRBY x2)": [
        ("if not now then return end", "if true then return end")],
}
"""Each variant is append.lua (with its includes inlined) and these text edits. When an edit no
longer matches, the variant prints n/a and tests/test_benchmarks.py fails: keep them in step
with the script."""


def variant(base: str, edits: list[tuple[str, str]]) -> str | None:
    for old, new in edits:
        if old not in base:
            return None
        base = base.replace(old, new)
    return base


def medians(raw: Any, ops: dict[str, Callable[[], object] | None], rounds: int,
            calls: int) -> dict[str, float | None]:
    """Each op's median ``usec`` over ``rounds`` interleaved rounds (A, B, C, A, B, C, ...);
    None for an op that is None."""
    runs: dict[str, list[float]] = {name: [] for name in ops}
    for _ in range(rounds):
        for name, op in ops.items():
            if op is not None:
                runs[name].append(usec(raw, op, calls))
    return {name: statistics.median(r) if r else None for name, r in runs.items()}


def usec(raw: Any, op: Callable[[], object], calls: int = CALLS) -> float:
    """The server's usec_per_call over ``calls`` calls of ``op``."""
    raw.config_resetstat()
    for _ in range(calls):
        op()
    return float(raw.info("commandstats")["cmdstat_evalsha"]["usec_per_call"])


def append_op(store: SessionStore, code: str,
              session: str | None = None) -> Callable[[], object]:
    """``code`` called as append.lua on ``session`` (default: a new one), first filled so
    every call trims."""
    script = store.client.register_script(code)
    keys = list(store._keys(session or store.create().id))
    prepared = prepare([("user", "x" * 200)], store.config, store.tokenizer)
    args = append_args(store._channel, store.config, prepared)
    n = 0

    def call() -> object:
        nonlocal n
        n += 1
        # a new call id and first message id per call, as the client sends (_ops.append_args)
        args[1] = args[8] = f"{n:032x}"
        return script(keys=keys, args=args)

    for _ in range(store.config.max_messages + 10):
        call()
    return call


def build_ops(store: SessionStore) -> dict[str, Callable[[], object] | None]:
    """The minimal script, append.lua and its variants, and the phase-2 prototype, each a
    call on its own steady-state session (None: a variant whose edit no longer applies)."""
    base = source("append")
    lim = Limits(store.client, "anatomy", "x" * 200)
    ops: dict[str, Callable[[], object] | None] = {
        "minimal append script (limits.py)": lambda: lim.evalsha(1)}
    for name, edits in VARIANTS.items():
        code = variant(base, edits)
        ops[name] = append_op(store, code) if code else None
    return ops


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.anatomy", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 round of 50 calls")
    ap.add_argument("--docs", action="store_true", help=f"write the section to {DOCS}")
    args = ap.parse_args(argv)
    rounds, calls = (1, 50) if args.quick else (ROUNDS, CALLS)
    with redis_url_or_private() as url:
        store = SessionStore.from_url(url, prefix="anatomy")
        version = store.client.info("server")["redis_version"]
        found = medians(store.client, build_ops(store), rounds, calls)
        for key in store.client.scan_iter(match="anatomy:*", count=1000):
            store.client.delete(key)
        store.close()
    shipped = found["append.lua as shipped"] or 0.0
    header = [f"- date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; command: "
              f"`python -m benchmarks.anatomy`; redis-server {version}",
              f"- Redis CPU per call (`INFO commandstats`), median of {rounds} interleaved "
              f"rounds of {calls} calls; the window is full, so every append trims one message "
              "into the archive. Variants cut one part out to price it; they are not proposals "
              "to ship as they are."]
    lines = ["| append.lua variant | Redis µs/call | vs shipped |", "|---|---|---|"]
    for name, us in found.items():
        cells = "n/a (append.lua changed) | " if us is None else f"{us:.1f} | {us - shipped:+.1f}"
        lines.append(f"| {name} | {cells} |")
    publish(SECTION, header, lines, DOCS if args.docs else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
