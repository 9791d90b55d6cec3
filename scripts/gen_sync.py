"""Generate redisession/_sync/ from redisession/_async/ with unasync.

    python scripts/gen_sync.py          # rewrite redisession/_sync/
    python scripts/gen_sync.py --check  # exit 1 if _sync/ differs from what would be generated

tests/test_packaging.py::test_sync_store_is_generated_from_async runs the check, so CI fails
when someone edits one side only.
"""

from __future__ import annotations

import argparse
import difflib
import shutil
import sys
import tempfile
from pathlib import Path

import unasync

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "redisession"
HEADER = "# Generated from redisession/_async by scripts/gen_sync.py: do not edit.\n"
REPLACEMENTS = {
    "AsyncSessionStore": "SessionStore",
    "AsyncRetry": "SyncRetry",
    "AsyncWorker": "ThreadWorker",
    "redis_async": "redis_sync",
    "aclose": "close",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    # session management mixins
    "AsyncManageMixin": "ManageMixin",
    "AsyncSummaryMixin": "SummaryMixin",
    "AsyncTransferMixin": "TransferMixin",
    "AsyncLiveMixin": "LiveMixin",
    "AsyncMessagesMixin": "MessagesMixin",
    "AsyncStoreBase": "StoreBase",
    # issue 13
    "AsyncStreamingMixin": "StreamingMixin",
    "AsyncReplyStream": "ReplyStream",
    "AsyncLifecycleMixin": "LifecycleMixin",
    "resolve_async": "resolve_sync",
    # one connection per script + WAIT (issue 9): hand-written twins in redisession/_nodes.py
    "pipeline_async": "pipeline_sync",
    "refresh_async": "refresh_sync",
    "AsyncScriptRunner": "ScriptRunner",
    "AsyncPagedMixin": "PagedMixin",
    "AsyncUpkeepMixin": "UpkeepMixin",
    # connection pools
    "AsyncBlockingPool": "SyncBlockingPool",
    "AsyncBlockingSentinelPool": "SyncBlockingSentinelPool",
    "async_cluster_kwargs": "sync_cluster_kwargs",
}

# Words in docstrings and comments that unasync's token rules do not reach.
TEXT_REPLACEMENTS = {
    "asyncio client": "sync client",
    # AsyncIterator sorts before Callable, Iterator after it (keeps isort quiet)
    "import Iterator, Callable": "import Callable, Iterator",
}


def generate(src: Path, dst: Path) -> None:
    """Write the sync twin of every .py file in ``src`` (an ``_async`` folder) into ``dst``."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "_async"
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("__pycache__"))
        rule = unasync.Rule("/_async/", "/_sync/", additional_replacements=REPLACEMENTS)
        unasync.unasync_files([str(p) for p in sorted(work.glob("*.py"))], rules=[rule])
        dst.mkdir(parents=True, exist_ok=True)
        for out in sorted((Path(tmp) / "_sync").glob("*.py")):
            text = out.read_text()
            for old, new in TEXT_REPLACEMENTS.items():
                text = text.replace(old, new)
            (dst / out.name).write_text(HEADER + text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if _sync/ is out of date")
    check = parser.parse_args().check
    if not check:
        generate(PKG / "_async", PKG / "_sync")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(PKG / "_async", Path(tmp))
        drift = []
        for fresh in sorted(Path(tmp).glob("*.py")):
            current = PKG / "_sync" / fresh.name
            old = current.read_text() if current.exists() else ""
            if old != fresh.read_text():
                new = fresh.read_text()
                drift += difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                              str(current), f"generated {fresh.name}")
        if drift:
            sys.stdout.writelines(drift)
            print("\nredisession/_sync is out of date: run python scripts/gen_sync.py")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
