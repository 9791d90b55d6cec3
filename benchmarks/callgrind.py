"""``python -m benchmarks.callgrind [--calls N]``: instructions redis-server runs per append.

The anatomy benchmark's scripts (the minimal script, append.lua and its variants, the phase-2
prototype), each called on a redis-server running under ``valgrind --tool=callgrind``: the
instruction count per call does not depend on what else the machine runs, so script variants
can be compared on a busy shared machine. Counts cover everything the server does for the call
(reading and parsing the request, the script, the reply). Needs valgrind (Debian: ``apt-get
install valgrind``); takes about a minute.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from redisession import SessionStore
from redisession._scripts import drop_unused, inlined, lua_dir
from redisession.testing import free_port, redis_server_binary

from .anatomy import append_op, build_ops

TOTAL = re.compile(r"^(?:summary|totals): (\d+)", re.M)


def _instructions(pid: int, out: Path, op: object, calls: int) -> float:
    """Zero the counters, make ``calls`` calls, dump, and read the total back."""
    subprocess.run(["callgrind_control", "-z", str(pid)], capture_output=True, check=True)
    for _ in range(calls):
        op()  # type: ignore[operator]
    before = set(out.glob("cg.*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, check=True)
    for _ in range(100):
        new = set(out.glob("cg.*")) - before
        if new:
            time.sleep(0.2)
            m = TOTAL.search(max(new, key=lambda p: p.stat().st_mtime).read_text())
            if m:
                return int(m.group(1)) / calls
        time.sleep(0.1)
    raise RuntimeError("callgrind wrote no dump")


LIBS_ONLY = inlined("libs", lambda path: "#!lua\n" + "".join(
    f'--- @include "lib/{lib}"\n' for lib in ("session", "reply", "books")) + "return 1\n"
    if path == "libs" else (lua_dir() / f"{path}.lua").read_text())
"""Every function of the libs append.lua includes, defined (as Lua does on each call), then
``return 1``: what defining them costs a script, against the bare ``return 1`` row."""


def source_at(rev: str) -> str:
    """append.lua with its includes inlined (and pruned, as the client sends it), as they were
    at git revision ``rev``."""
    def show(path: str) -> str:
        return subprocess.run(["git", "show", f"{rev}:lua/{path}.lua"], capture_output=True,
                              text=True, check=True, cwd=Path(__file__).resolve().parent).stdout
    return drop_unused(inlined("append", show))


@contextmanager
def server_under_callgrind() -> Iterator[tuple[str, Callable[[Callable[[], object], int], float]]]:
    """A private redis-server under ``valgrind --tool=callgrind``: its URL, and a function giving
    the instructions per call of ``calls`` calls of an op (counters zeroed before, dumped after).
    Needs valgrind (Debian: ``apt-get install valgrind``)."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    out = Path(tempfile.mkdtemp(prefix="redisession-callgrind-"))
    port = free_port()
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/cg.%p",
         redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(300):
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.1)
        yield url, lambda op, calls: _instructions(proc.pid, out, op, calls)
    finally:
        proc.terminate()
        proc.wait(60)
        shutil.rmtree(out, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.callgrind", description=__doc__)
    ap.add_argument("--calls", type=int, default=200, help="calls per variant (default 200)")
    ap.add_argument("--compare", metavar="REV", action="append", default=[],
                    help="also price append.lua as it was at git revision REV (a before/after "
                         "line in the same run); may be repeated")
    args = ap.parse_args(argv)
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 1
    with server_under_callgrind() as (url, instructions):
        store = SessionStore.from_url(url, prefix="cg")
        version = store.client.info("server")["redis_version"]
        bare = store.client.register_script("#!lua\nreturn 1")
        libs = store.client.register_script(LIBS_ONLY)
        ops = {"EVALSHA of `return 1` (any script call)": lambda: bare(keys=["x"], args=[1]),
               "EVALSHA of the libs append.lua includes, then `return 1`":
                   lambda: libs(keys=["x"], args=[1]),
               **build_ops(store)}
        for rev in args.compare:
            ops[f"append.lua at {rev}"] = append_op(store, source_at(rev))
        counts = {name: instructions(op, args.calls) for name, op in ops.items()
                  if op is not None}
        store.close()
    minimal = counts["minimal append script (limits.py)"]
    print(f"redis-server {version} under callgrind, {args.calls} calls per row, steady state "
          "(the window is full, every append trims one message)\n")
    print("| script | k instructions per call | × minimal script |\n|---|---|---|")
    for name, n in counts.items():
        print(f"| {name} | {n / 1000:,.1f} | {n / minimal:.2f}× |")
    return 0

if __name__ == "__main__":
    sys.exit(main())
