"""The README's examples, run for real against a private redis-server.

Marker scheme (for every README section):

- A ```python block right after a line ``<!-- readme-test -->`` is executed. Marked blocks run
  in document order in one shared namespace (a later block may use ``store`` from an earlier
  one), with ``redis://localhost:6379/0`` replaced by the private server's URL.
- In every ```console block, each line ``$ redis-cli ARGS`` is run (ARGS split like a shell
  would, ``--no-raw`` added so the output looks as in a terminal) at that point of the
  document, after the python blocks above it. The lines after it, up to the next ``$`` line,
  are its expected output: each must appear in the real output, in that order (a line ``...``
  matches anything). Other ``$`` lines (the ``redisession`` CLI, for instance) are shown, not
  run here: tests/test_cli.py covers the CLI.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from redisession.testing import RedisServer

README = Path(__file__).resolve().parent.parent / "README.md"
URL = "redis://localhost:6379/0"
_BLOCK = re.compile(r"(<!-- readme-test -->\n)?```(\w+)\n(.*?)```", re.S)


def blocks(text: str) -> list[tuple[str, str, bool]]:
    """``(language, body, marked)`` of every fenced block, in document order."""
    return [(m.group(2), m.group(3), bool(m.group(1))) for m in _BLOCK.finditer(text)]


def redis_cli_steps(body: str) -> list[tuple[list[str], list[str]]]:
    steps: list[tuple[list[str], list[str]]] = []
    for line in body.splitlines():
        if line.startswith("$ "):
            argv = shlex.split(line[2:], comments=True)
            steps.append((argv, []))
        elif steps:
            steps[-1][1].append(line.strip())
    return [(argv, want) for argv, want in steps if argv and argv[0] == "redis-cli"]


def contains_in_order(got: list[str], want: list[str]) -> bool:
    i = 0
    for line in want:
        if line == "...":
            continue
        while i < len(got) and got[i].strip() != line:
            i += 1
        if i == len(got):
            return False
        i += 1
    return True


def test_marker_parsing() -> None:
    text = ("<!-- readme-test -->\n```python\nx = 1\n```\n```python\ny = 2\n```\n"
            "```console\n$ redis-cli GET k\n\"v\"\n$ redisession ls\n```\n")
    assert blocks(text) == [("python", "x = 1\n", True), ("python", "y = 2\n", False),
                            ("console", '$ redis-cli GET k\n"v"\n$ redisession ls\n', False)]
    assert redis_cli_steps(blocks(text)[2][1]) == [(["redis-cli", "GET", "k"], ['"v"'])]
    assert contains_in_order(["a", "b", "c"], ["a", "...", "c"])
    assert not contains_in_order(["a", "b"], ["b", "a"])


def test_readme_examples_and_redis_cli_output() -> None:
    assert shutil.which("redis-cli"), "redis-cli is needed (Debian: redis-tools)"
    text = README.read_text()
    found = blocks(text)
    assert any(marked for _, _, marked in found), "no <!-- readme-test --> block in README"
    with RedisServer() as server:
        namespace: dict[str, Any] = {}
        checked = 0
        try:
            for lang, body, marked in found:
                if lang == "python" and marked:
                    exec(compile(body.replace(URL, server.url), str(README), "exec"), namespace)
                elif lang == "console":
                    for argv, want in redis_cli_steps(body):
                        argv = [argv[0], "-p", str(server.port), "--no-raw", *argv[1:]]
                        got = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                                             check=True).stdout.splitlines()
                        assert contains_in_order(got, want), (argv, got, want)
                        checked += 1
        finally:
            store = namespace.get("store")
            if store is not None:
                store.close()
        assert checked >= 5
