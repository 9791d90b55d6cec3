"""The report that turns FAULT-RESULT lines into docs/reliability.md's table (no Redis)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import report
from ._result import fault_result

JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest">
<testcase classname="faults.test_retries" name="test_a[sync]" time="0.1"/>
<testcase classname="faults.test_crash" name="test_b" time="0.1"><failure message="x"/></testcase>
<testcase classname="faults.test_crash" name="test_c" time="0.1"><error message="y"/></testcase>
<testcase classname="faults.test_failover"
 name="test_cluster_failover_without_durability_reports_its_losses" time="9"/>
</testsuite></testsuites>"""


def test_lines_become_rows_with_outcomes(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    line = fault_result("sigstop", stall_s=1.5, stored_copies=1, note="two words")
    assert capsys.readouterr().out.strip() == line
    log = "\n".join([
        "tests/faults/test_retries.py .",
        "FAULT-RESULT lost-reply-sync test=tests/faults/test_retries.py::test_a[sync] n=1",
        "F FAULT-RESULT kill-9-aof test=tests/faults/test_crash.py::test_b acked_lost=0",
        "FAULT-RESULT sentinel-failover lost=0 some-note",
        "FAULT-RESULT cluster failover, durability=none: 2 failovers, 0 acknowledged lost",
    ])
    junit = tmp_path / "j.xml"
    junit.write_text(JUNIT)
    results = report.parse_lines(log)
    report.attach(results, report.outcomes(junit))
    assert [(r.scenario, r.outcome) for r in results] == [
        ("lost-reply-sync", "passed"), ("kill-9-aof", "failed"), ("sentinel-failover", "?"),
        ("cluster failover, durability=none", "passed"), ("test_crash::test_c", "failed")]
    rows = report.table(results).splitlines()[2:]
    assert rows[0].startswith("| Lost reply + retry (sync) |") and "n=1" in rows[0]
    assert rows[1].endswith("| acked_lost=0 | failed |")
    assert rows[2].startswith("| Cluster failover, no durability |")
    assert "| 2 failovers, 0 acknowledged lost | passed |" in rows[2]
    assert rows[3].startswith("| sentinel-failover |") and "lost=0 some-note" in rows[3]
    assert "note=two_words" in line and "stall_s=1.5" in line


def test_write_doc_replaces_only_the_block(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "reliability.md"
    doc.write_text(f"intro\n{report.START}\nold table\n{report.END}\nafter\n")
    monkeypatch.setattr(report, "DOC", doc)
    report.write_doc("new table")
    assert doc.read_text() == f"intro\n{report.START}\nnew table\n{report.END}\nafter\n"
