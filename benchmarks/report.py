"""The one table (Markdown, printed and written to docs/benchmarks.md) and its header."""

from __future__ import annotations

import re
from pathlib import Path

from .costs import Costs
from .harness import Row, paired_ratio
from .memory import Memory
from .reads import SIZES
from .throughput import CONCURRENCY, THREADS

SECTION = "## Throughput, latency and memory"
COLUMNS = ("row", "ops/s", "msgs/s", "p50 µs", "p99 µs", "spread", "vs limit", "target / note")

APPEND_TARGET = 0.9
CACHE_TARGET = 20.0
CACHE_TARGET_SIZE = 100
MEMORY_TARGET = 1.10


def _target(ok: bool, text: str) -> str:
    return f"{text}: {'met' if ok else 'MISSED'}"


def _cells(row: Row, msgs: int = 1) -> list[str]:
    return [f"{row.rate:,.0f}", f"{row.rate * msgs:,.0f}", f"{row.p50 * 1e6:,.0f}",
            f"{row.p99 * 1e6:,.0f}", f"{row.spread:.0%}"]


def table(rows: dict[str, Row], mem: Memory, costs: Costs) -> list[str]:
    out = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]

    def section(title: str) -> None:
        out.append(f"| **{title}** |" + " |" * (len(COLUMNS) - 1))

    def line(label: str, cells: list[str], ratio: str = "", note: str = "") -> None:
        out.append("| " + " | ".join([label, *cells, ratio, note]) + " |")

    def timed(label: str, key: str, msgs: int = 1, base: str = "", goal: float = 0.0,
              note: str = "") -> None:
        row = rows[key]
        ratio = ""
        if base:
            r = paired_ratio(row, rows[base])
            ratio = f"{r:.2f}×"
            if goal:
                note = _target(r >= goal, f"target ≥{goal}×") + (f"; {note}" if note else "")
        line(label, _cells(row, msgs), ratio, note)

    section("Limits: raw redis-py, 1 client, one call at a time")
    timed("PING round trip", "ping")
    timed("pipelined RPUSH+PEXPIRE (1 round trip)", "pipe")
    timed("EVALSHA minimal append, 1 msg", "lim1")
    timed("EVALSHA minimal append, 5 msgs", "lim5", 5)
    section("redisession sync, 1 client, one call at a time")
    timed("append, 1 msg/call", "app1", 1, "lim1", APPEND_TARGET)
    timed("append, 5 msgs/call", "app5", 5, "lim5")
    timed("(diagnostic) append.lua, args prebuilt", "lua1", 1, "lim1",
          note="the script + redis-py, none of the library's Python")
    for label, acc in (("minimal script", costs.minimal), ("append.lua, args prebuilt",
                       costs.prebuilt), ("store.append", costs.append)):
        line(f"(diagnostic) per call, {label}", [""] * 5, "",
             f"wall {acc.wall:.0f} µs; client process CPU {acc.client_cpu:.0f} µs; "
             f"redis-server CPU {acc.server_cpu:.0f} µs, of which the script {acc.script:.1f}")
    line("(diagnostic) library Python per append", [""] * 5, "",
         f"{costs.python_us:.1f} µs: store.append with the script call stubbed (models, "
         "ids, tokens, msgpack, keys, args, reply)")
    section(f"asyncio, {CONCURRENCY} concurrent sessions")
    timed("limit: EVALSHA minimal append, 1 msg", "alim1")
    timed("limit: EVALSHA minimal append, 5 msgs", "alim5", 5)
    timed("redisession append, 1 msg/call", "aapp1", 1, "alim1", APPEND_TARGET)
    timed("redisession append, 5 msgs/call", "aapp5", 5, "alim5")
    section(f"{THREADS} threads appending to one session, one store")
    th = rows["threads"]
    lost = sum(s.extra["lost"] for s in th.samples)
    dup = sum(s.extra["duplicated"] for s in th.samples)
    gaps = sum(s.extra["gaps"] for s in th.samples)
    acked = sum(s.ops for s in th.samples)
    timed("append, 1 msg/call", "threads", 1, "lim1",
          note=f"{acked:,} acknowledged: lost {lost}, duplicated {dup}, rounds with seq gaps "
               f"{gaps}")
    section("reads, sync (uncached: one EVALSHA + decode; cached: local LRU)")
    for n in SIZES:
        for what in ("messages", "context"):
            timed(f"{what}(), {n} msgs, uncached", f"{what}{n}", n)
            cached = rows[f"{what}{n}c"]
            speed = paired_ratio(cached, rows[f"{what}{n}"])
            note = f"{speed:,.1f}× uncached"
            if n == CACHE_TARGET_SIZE:
                note = _target(speed >= CACHE_TARGET, f"target ≥{CACHE_TARGET:.0f}×") + \
                    f" ({note})"
            line(f"{what}(), {n} msgs, cached", _cells(cached, n), "", note)
    out += memory_lines(mem)
    return out


def memory_lines(mem: Memory) -> list[str]:
    blank = [""] * 5
    rows = [f"| **Redis memory, {mem.messages} messages of {mem.chars} chars, one append "
            f"each** |" + " |" * (len(COLUMNS) - 1)]

    def line(label: str, ratio: str, note: str) -> None:
        rows.append("| " + " | ".join([label, *blank, ratio, note]) + " |")

    line("bytes per message, all keys of the session", f"{mem.ratio:.2f}×",
         _target(mem.ratio <= MEMORY_TARGET, f"target ≤{MEMORY_TARGET:.2f}× baseline") +
         f"; {mem.per_message:,.0f} B vs {mem.baseline:,.0f} B")
    line("baseline: list of compact JSON {role, content}", "1.00×",
         f"{mem.baseline:,.0f} B per message")
    for key, value in mem.per_key.items():
        if value:
            without = "" if key == "msgs" else f"; without it {mem.ratio_without(key):.2f}×"
            line(f"… of which key `{key}`", "", f"{value:,.1f} B/msg{without}")
    e = mem.element
    line("stored element vs JSON element", "",
         f"{e['element']:,.1f} B vs {e['json element']:,.1f} B: header {e['header']:.1f}, "
         f"id {e['id']:.1f}, created_at {e['created_at']:.1f}, role+content "
         f"{e['role+content']:.1f}, other fields {e['other']:.1f}")
    return rows


def write_docs(path: Path, header: list[str], lines: list[str], section: str = SECTION) -> None:
    """Replace (or append) ``section`` of ``path``; other sections stay as they are."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    body = "\n".join([section, "", *header, "", *lines, ""]) + "\n"
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: body, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + body
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def publish(section: str, header: list[str], lines: list[str], docs: Path | None) -> None:
    """Print ``section`` (its header, then its lines), and write it into ``docs`` when given
    (the benchmarks' ``--docs``)."""
    print("\n".join([section, "", *header, "", *lines]))
    if docs is not None:
        write_docs(docs, header, lines, section)
