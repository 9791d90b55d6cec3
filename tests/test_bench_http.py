"""benchmarks/http.py runs end to end (tiny and unmeasured: figures come from quiet runs)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

pytestmark = pytest.mark.slow


def test_http_benchmark_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.http import run

    assert run(["--clients", "2", "--seconds", "0.2", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    for key in ("lib", "http", "idem", "health"):
        row = re.search(rf"^\| {key} \| ([\d,]+) \|", out, re.M)
        assert row and int(row.group(1).replace(",", "")) > 0, out
    assert "overhead per append request" in out
