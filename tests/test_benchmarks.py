"""The benchmark runs end to end and prints every row (no timing assertions: numbers are for
people, tests check that the table is complete and the docs writer keeps other sections)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import main

ROWS = [
    "PING round trip",
    "pipelined RPUSH+PEXPIRE",
    "EVALSHA minimal append, 1 msg",
    "EVALSHA minimal append, 5 msgs",
    "append, 1 msg/call",
    "append, 5 msgs/call",
    "limit: EVALSHA minimal append, 1 msg",
    "redisession append, 1 msg/call",
    "redisession append, 5 msgs/call",
    "8 threads appending to one session",
    "bytes per message, all keys of the session",
    "baseline: list of compact JSON",
    "(diagnostic) per call, store.append",
    "library Python per append",
]


@pytest.mark.slow
def test_quick_run_prints_the_whole_table(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)  # CONFIG RESETSTAT: only on our own server
    docs = tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Cache\n\nkept as it is\n")
    assert main(["--quick", "--docs", str(docs)]) == 0
    out = capsys.readouterr().out
    for row in ROWS:
        assert row in out, row
    for n in (10, 100, 1000):
        for what in ("messages", "context"):
            assert f"{what}(), {n} msgs, uncached" in out
            cached = [ln for ln in out.splitlines() if f"{what}(), {n} msgs, cached" in ln]
            assert len(cached) == 1
            assert "n/a" not in cached[0]  # the cached rows are measured, not skipped
    assert "target ≥0.9×:" in out and "target ≤1.10× baseline:" in out
    assert "lost 0, duplicated 0, rounds with seq gaps 0" in out
    table = [ln for ln in out.splitlines() if ln.startswith("| ")]
    assert all(ln.count("|") == table[0].count("|") for ln in table)
    text = docs.read_text()
    assert "## Cache\n\nkept as it is" in text
    assert "## Throughput, latency and memory" in text and "redis-server 7" in text
    assert main(["--quick", "--docs", str(docs)]) == 0
    assert docs.read_text().count("## Throughput, latency and memory") == 1


def test_anatomy_quick_run_prices_every_part(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    from benchmarks.anatomy import VARIANTS
    from benchmarks.anatomy import main as anatomy

    assert anatomy(["--quick"]) == 0
    out = capsys.readouterr().out
    rows = {ln.split(" | ")[0][2:]: ln for ln in out.splitlines() if ln.startswith("| ")}
    assert set(VARIANTS) | {"minimal append script (limits.py)"} <= set(rows)
    assert "n/a" not in rows["append.lua as shipped"]
    assert float(rows["append.lua as shipped"].split(" | ")[1]) > 0
    stale = [name for name, row in rows.items() if "n/a" in row]
    assert not stale, f"variants whose edits no longer match append.lua: {stale}"


def test_rounds_interleave_rows_and_ratios_pair_rounds() -> None:
    from benchmarks.harness import Row, Sample, interleave, paired_ratio

    calls: list[tuple[str, float]] = []
    rates = {"a": iter([0, 10, 40, 10]), "b": iter([0, 5, 10, 20])}

    def measure(key: str) -> Row:
        def run(seconds: float) -> Sample:
            calls.append((key, seconds))
            return Sample(next(rates[key]), 1.0, [0.001, 0.002])
        return Row(key, run)

    a, b = measure("a"), measure("b")
    interleave([a, b], rounds=3, seconds=0.5, warmup=0.1)
    assert calls == [("a", 0.1), ("b", 0.1)] + [("a", 0.5), ("b", 0.5)] * 3
    assert len(a.samples) == 3  # the warm-up pass is not kept
    assert a.rate == 10 and b.rate == 10
    # per-round ratios 2, 4, 0.5 -> median 2 (the ratio of medians would say 1)
    assert paired_ratio(a, b) == 2


@pytest.mark.slow
def test_streaming_benchmark_prints_its_rows(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.streaming import main as streaming

    assert streaming(["--seconds", "0.3", "--writers", "1", "--batch-chars", "1"]) == 0
    row = capsys.readouterr().out.splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:2] == ["1", "1"] and cells[4].endswith("ms") and "nan" not in row


@pytest.mark.slow
def test_presets_benchmark_prints_a_row_per_preset(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.presets import main as presets

    assert presets(["--seconds", "0.2"]) == 0
    rows = capsys.readouterr().out.splitlines()[2:]
    assert [r.split("|")[1].strip() for r in rows] == ["interactive", "batch", "throughput"]


def test_floor_quick_run_prices_every_rung(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """The floor benchmark's ladder and prototype run and print a figure for every row (the
    prototype's first call returning a reply also checks it appends at all)."""
    monkeypatch.delenv("REDIS_URL", raising=False)
    from benchmarks.floor import LADDER
    from benchmarks.floor import main as floor_main
    assert floor_main(["--quick"]) == 0
    rows = {ln.split(" | ")[0][2:]: ln for ln in capsys.readouterr().out.splitlines()
            if ln.startswith("| ") and "---" not in ln}
    assert set(LADDER) <= set(rows) and "append.lua as shipped" in rows
    assert all(float(row.split(" | ")[1].replace(",", "")) > 0 for name, row in rows.items()
               if name != "script")
