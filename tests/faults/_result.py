"""What every fault test shares: its ``FAULT-RESULT`` line, and waiting with a deadline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

PREFIX = "FAULT-RESULT"


def fault_result(scenario: str, **figures: object) -> str:
    """Print ``FAULT-RESULT <scenario> test=<pytest id> k=v ...`` (printed before the test's
    asserts, so a failing run still shows its figures) and return the line."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]
    parts = [PREFIX, scenario, f"test={test}"]
    for key, value in figures.items():
        if isinstance(value, float):
            text = f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"
        else:
            text = str(value)
        parts.append(f"{key}={text.replace(' ', '_')}")
    line = " ".join(parts)
    print(f"\n{line}", flush=True)
    return line


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.005) -> float:
    """Seconds until ``condition()`` was true; raises AssertionError after ``timeout``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not true within {timeout} s: {condition}")
        time.sleep(step)
    return time.monotonic() - start
