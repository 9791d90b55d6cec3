"""``redisession export`` and ``import``: progress bars on stderr, an export file that appears
only when complete (written to a temporary file beside it, then renamed)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .cli import EXIT_FAIL, EXIT_OK, command
from .cli_manage import err
from .errors import ExportIncomplete, ImportFormatError, SessionExists


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


def _export_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="output file ('-' for stdout)")
    p.add_argument("session_ids", nargs="*", help="these sessions (default: all, or --user's)")
    p.add_argument("--user", help="this user's sessions")


@command("export", "write sessions to a JSON Lines file", _export_setup)
def cmd_export(args: argparse.Namespace) -> int:
    from .cli_manage import open_store

    target = Path(args.file)
    tmp = None
    if args.file != "-":  # a failed export must not leave a file that looks like a backup
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                    dir=target.parent if str(target.parent) else ".")
        os.close(fd)
        tmp = Path(name)
    incomplete: ExportIncomplete | None = None
    try:
        with open_store(args) as store, _bar() as bar:
            ids = args.session_ids or None
            task = bar.add_task("export", total=len(ids) if ids else None)
            try:
                n = store.export_sessions(
                    sys.stdout if tmp is None else tmp, session_ids=ids, user_id=args.user,
                    progress=lambda done: bar.update(task, completed=done))
            except ExportIncomplete as e:  # the file is complete for every other session
                incomplete, n = e, e.written
            bar.update(task, total=n, completed=n)
        if tmp is not None:
            os.replace(tmp, target)
            tmp = None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    if incomplete is not None:
        err.print(f"{incomplete}; skipped: " + "; ".join(
            f"{sid}: {why}" for sid, why in sorted(incomplete.skipped.items())))
        return EXIT_FAIL
    err.print(f"exported {n} sessions")
    return EXIT_OK


def _import_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a file written by export ('-' for stdin)")
    p.add_argument("--overwrite", action="store_true", help="replace sessions that exist")


@command("import", "read sessions from a file written by export", _import_setup)
def cmd_import(args: argparse.Namespace) -> int:
    from .cli_manage import open_store

    total = None
    if args.file != "-":
        with open(args.file, encoding="utf-8") as f:
            total = max(0, sum(1 for line in f if line.strip()) - 2)
    with open_store(args) as store, _bar() as bar:
        task = bar.add_task("import", total=total)

        def progress(done: int) -> None:  # a hand-edited file may hold more than it seemed
            bar.update(task, completed=done,
                       total=None if total is None else max(total, done))

        try:
            n = store.import_sessions(sys.stdin if args.file == "-" else args.file,
                                      overwrite=args.overwrite, progress=progress)
        except (ImportFormatError, SessionExists) as e:
            bar.stop()
            err.print(f"import stopped: {e} (sessions before it were imported)")
            return EXIT_FAIL
    err.print(f"imported {n} sessions")
    return EXIT_OK
