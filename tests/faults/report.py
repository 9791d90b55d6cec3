"""Run the fault suite and turn its ``FAULT-RESULT`` lines into the table of
docs/reliability.md.

    python -m tests.faults.report              # run tests/faults, print the table
    python -m tests.faults.report --write      # ... and put it into docs/reliability.md
    python -m tests.faults.report --log FILE   # read a saved `pytest -s` output instead

Extra arguments after ``--`` go to pytest (``-- -m "not slow"``).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- fault-results:start -->", "<!-- fault-results:end -->"

SCENARIOS: dict[str, tuple[str, str, str]] = {
    # id: (scenario, what is injected, what is checked)
    "lost-reply-sync": ("Lost reply + retry (sync)",
                        "a proxy forwards `create`, `append` and `incr_state`, drops the reply "
                        "and the connection; redis-py retries",
                        "each write applied once; the retry answers with the first call's "
                        "seqs; the counter is incremented once"),
    "lost-reply-async": ("Lost reply + retry (async)", "as above, `AsyncSessionStore`",
                         "as above"),
    "sigstop": ("Server stalled (SIGSTOP)", "SIGSTOP for 1.5 s during an append "
                "(socket timeout 0.3 s)", "the call returns once, one copy stored"),
    "retry-storm": ("Retry storm", "150 threads append to one session through a 1.5 s "
                    "SIGSTOP; every attempt runs on SIGCONT, hundreds of appends apart",
                    "0 duplicates, 0 acknowledged appends lost, 0 errors"),
    "kill-9-aof": ("Crash (kill -9), AOF `appendfsync always`", "SIGKILL during a write loop, "
                   "restart on the same port from the AOF",
                   "0 acknowledged appends lost, 0 duplicates, seqs gap-free"),
    "aof-rollback-strict": ("AOF rollback + strict cache", "restart from an older AOF (an "
                            "acked append the cache holds is gone), then another instance "
                            "appends: same version, other content",
                            "the first strict read returns the new content"),
    "aof-rollback-eventual": ("AOF rollback + eventual cache", "as above, eventual cache "
                              "(max age 60 s)", "the cache serves the new content within 3 s"),
    "script-flush-storm": ("SCRIPT FLUSH storm", "SCRIPT FLUSH every 10 ms for 2.5 s while "
                           "2 sync threads and 2 asyncio tasks append",
                           "0 errors; stored == acknowledged"),
    "oom-noeviction": ("Out of memory (noeviction)", "`maxmemory` just above the data, filled "
                       "by appends, then held below it",
                       "refused writes raise `StoreFullError`, keys byte-identical (DUMP, "
                       "PEXPIRETIME); reads, `touch`, `clear`, `delete` work"),
    "allkeys-lru-eviction": ("Eviction (allkeys-lru)", "fill until Redis evicts the "
                             "session's message list (meta kept)",
                             "next append raises `SessionCorrupted`, writes nothing; "
                             "`repair` makes the session usable"),
    "listener-killed": ("Listener killed", "`CLIENT KILL TYPE pubsub` after a write the "
                        "cache missed (max age 60 s)",
                        "the cache flushes, resubscribes, serves the missed write, and the "
                        "next invalidation arrives"),
    "flushall-strict": ("Server wiped (FLUSHALL), strict cache", "FLUSHALL with 3 cached "
                        "sessions, then one recreated under the same id",
                        "0 ghost reads; the recreated session's content at once"),
    "flushall-eventual": ("Server wiped (FLUSHALL), eventual cache", "as above, eventual "
                          "cache (max age 60 s)",
                          "ghosts gone within the epoch check (1 s), under 3 s"),
    "netns-partition": ("Network partition (network namespace)", "the veth link to a server "
                        "in its own namespace set down for 3 calls, then up",
                        "failures are `TimeoutError`/`ConnectionError` within the retry "
                        "budget; after heal every call succeeds, 0 acked lost; failed appends "
                        "sent again with the same messages: each stored once"),
    # the failover drills (tests/faults/test_failover.py) print "FAULT-RESULT <name>: <text>"
    "sentinel failover, durability=replicas": (
        "Sentinel failover, `durability=\"replicas\"`", "10 rounds while appending 8 kB "
        "messages: the replica stalled 0.2 s (SIGSTOP), the primary killed (SIGKILL), "
        "Sentinel promotes the replica", "0 acknowledged appends lost, 0 stored twice"),
    "sentinel failover, durability=none": (
        "Sentinel failover, no durability", "as above, 3 rounds",
        "0 stored twice; acknowledged appends lost are a figure, not a rule"),
    "cluster failover, durability=replicas": (
        "Cluster failover, `durability=\"replicas\"`", "3 masters with replicas, 3 rounds: "
        "a master's replica stalled 0.2 s, the master killed, its replica promoted",
        "0 acknowledged appends lost, 0 stored twice"),
    "cluster failover, durability=none": (
        "Cluster failover, no durability", "as above, 2 rounds",
        "0 stored twice; acknowledged appends lost are a figure, not a rule"),
}

FAILOVER_TESTS = {
    "sentinel failover, durability=replicas":
        "test_sentinel_failover_with_durability_loses_no_acknowledged_append",
    "sentinel failover, durability=none":
        "test_sentinel_failover_without_durability_reports_its_losses",
    "cluster failover, durability=replicas":
        "test_cluster_failover_with_durability_loses_nothing_and_stores_nothing_twice",
    "cluster failover, durability=none":
        "test_cluster_failover_without_durability_reports_its_losses",
}
"""Lines without a ``test=`` field: the test each comes from, for its outcome."""


@dataclass
class Result:
    scenario: str
    test: str = ""
    figures: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    outcome: str = "?"


def parse_lines(text: str) -> list[Result]:
    """Every ``FAULT-RESULT <scenario> [test=<id>] k=v ...`` line in ``text``."""
    results: list[Result] = []
    for line in text.splitlines():
        at = line.find("FAULT-RESULT")
        if at < 0:
            continue
        rest = line[at + len("FAULT-RESULT"):].strip()
        if ": " in rest:  # "<name>: <free text>" (the failover drills)
            name, text = rest.split(": ", 1)
            test = FAILOVER_TESTS.get(name, "")
            results.append(Result(name, f"tests/faults/test_failover.py::{test}" if test
                                  else "", notes=[text.strip()]))
            continue
        tokens = rest.split()
        if not tokens:
            continue
        result = Result(tokens[0])
        for token in tokens[1:]:
            key, eq, value = token.partition("=")
            if not eq:
                result.notes.append(token)
            elif key == "test":
                result.test = value
            else:
                result.figures[key] = value
        results.append(result)
    return results


def outcomes(junit: Path) -> dict[tuple[str, str], str]:
    """(module file stem, test name) -> passed / failed / skipped, from a junit XML file."""
    found: dict[tuple[str, str], str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        stem = case.get("classname", "").rsplit(".", 1)[-1]
        tags = {child.tag for child in case}
        state = ("failed" if tags & {"failure", "error"} else
                 "skipped" if "skipped" in tags else "passed")
        found[(stem, case.get("name", ""))] = state
    return found


def attach(results: list[Result], found: dict[tuple[str, str], str]) -> None:
    """Each result's outcome; a test that failed before printing its line gets a row too."""
    printed = set()
    for r in results:
        path, _, name = r.test.partition("::")
        printed.add((Path(path).stem, name))
        r.outcome = found.get((Path(path).stem, name), "?")
    for (stem, name), state in found.items():
        if state == "failed" and (stem, name) not in printed:
            results.append(Result(f"{stem}::{name}", notes=["(failed before printing)"],
                                  outcome="failed"))


def table(results: list[Result]) -> str:
    rows = ["| scenario | injected | checked | result (printed figures) | outcome |",
            "|---|---|---|---|---|"]
    order = list(SCENARIOS)
    for r in sorted(results, key=lambda r: order.index(r.scenario) if r.scenario in order
                    else len(order)):
        title, injected, checked = SCENARIOS.get(
            r.scenario, (r.scenario, f"see `{r.test or 'tests/faults'}`", "see the test"))
        figures = ", ".join(f"{k}={v}" for k, v in r.figures.items())
        figures = " ".join([figures, *r.notes]).strip()
        rows.append(f"| {title} | {injected} | {checked} | {figures} | {r.outcome} |")
    return "\n".join(rows)


def run_suite(pytest_args: list[str]) -> tuple[str, dict[tuple[str, str], str], float]:
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "faults.xml"
        cmd = [sys.executable, "-m", "pytest", "tests/faults", "-s", "-q", "-p",
               "no:cacheprovider", f"--junitxml={junit}", *pytest_args]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        took = time.monotonic() - started
        sys.stderr.write(proc.stdout[-4000:])
        return proc.stdout, outcomes(junit) if junit.exists() else {}, took


def context(took: float | None) -> str:
    try:
        version = subprocess.run(["redis-server", "--version"], capture_output=True,
                                 text=True).stdout.split()[2].removeprefix("v=")
    except (OSError, IndexError):
        version = "?"
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    parts = [f"Run {when}", f"redis-server {version}", f"Python {platform.python_version()}",
             f"{os.cpu_count()} CPUs"]
    if took is not None:
        parts.append(f"suite took {took:.0f} s")
    return "; ".join(parts) + "."


def write_doc(block: str) -> None:
    text = DOC.read_text()
    head, _, rest = text.partition(START)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{START}\n{block}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/reliability.md")
    parser.add_argument("--log", type=Path, help="parse this saved pytest -s output")
    parser.add_argument("pytest_args", nargs="*", help="after --: arguments for pytest")
    args = parser.parse_args(argv)
    took: float | None = None
    if args.log:
        text, found = args.log.read_text(), {}
    else:
        text, found, took = run_suite(args.pytest_args)
    results = parse_lines(text)
    attach(results, found)
    block = f"{context(took)}\n\n{table(results)}"
    print(block)
    if args.write:
        write_doc(block)
    return 0 if results and all(r.outcome != "failed" for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
