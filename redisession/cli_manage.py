"""Operator commands of the ``redisession`` CLI: ls, show, tail, stats, sweep, repair, delete
(export and import are in `cli_transfer`). Registered in `redisession.cli.COMMANDS` on import;
each returns an exit code."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.table import Table

from .cli import EXIT_FAIL, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE, command
from .models import Message, Session

# Piped output (scripts, tests) gets wide lines instead of rich's 80-column default.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, highlight=False)


@contextmanager
def open_store(args: argparse.Namespace, **settings: Any) -> Iterator[Any]:
    from . import SessionStore

    with SessionStore.from_url(args.url, prefix=args.prefix, **settings) as store:
        yield store


def _json(data: Any) -> None:
    print(json.dumps(data, default=str, ensure_ascii=False))


def _when(dt: datetime | None) -> str:
    return dt.astimezone().strftime("%Y-%m-%d %H:%M:%S") if dt else "-"


def _left(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    s = int(seconds)
    return f"{s // 86400}d {s % 86400 // 3600}h" if s >= 86400 else \
        f"{s // 3600}h {s % 3600 // 60}m" if s >= 3600 else f"{s // 60}m {s % 60}s"


def count(low: int) -> Callable[[str], int]:
    """An argparse type: an int >= ``low`` (else a usage error, exit 2)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be {low} or more, got {value}")
        return value
    return parse


def _json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable JSON output")


# -- ls ----------------------------------------------------------------------------------------

def _ls_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="only this user's sessions (from the per-user index)")
    p.add_argument("--limit", type=count(1), default=50, help="at most this many (50)")
    p.add_argument("--offset", type=count(0), default=0, help="skip this many first (0)")
    p.add_argument("--state", choices=("active", "inactive"), help="only sessions in this state")
    _json_flag(p)


@command("ls", "list sessions, most recent activity first", _ls_setup)
def cmd_ls(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        if args.user:
            sessions = store.list_sessions(args.user, limit=args.limit, offset=args.offset,
                                           state=args.state)
        else:
            found = [s for _, s in store._metas(store._all_sessions())
                     if s is not None and args.state in (None, s.state)]
            found.sort(key=lambda s: s.last_activity, reverse=True)
            sessions = found[args.offset:args.offset + args.limit]
    if args.json:
        _json([s.model_dump(mode="json") for s in sessions])
        return EXIT_OK
    table = Table("id", "user", "name", "state", "msgs", "tokens", "last activity",
                  "expires in")
    for s in sessions:
        table.add_row(s.id, s.user_id or "-", s.name, s.state, str(s.message_count),
                      str(s.token_count), _when(s.last_activity), _left(s.expires_in))
    out.print(table)
    return EXIT_OK


# -- show --------------------------------------------------------------------------------------

def _show_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("session_id")
    p.add_argument("--history", action="store_true", help="include archived (trimmed) messages")
    _json_flag(p)


def _key_ttls(store: Any, sid: str) -> dict[str, float | None]:
    ttls = {}
    for name, key in store._keys(sid)._asdict().items():
        if name in ("stats", "live"):
            continue
        ms = store.client.pttl(key)
        ttls[key] = None if ms == -2 else ms / 1000
    return ttls


@command("show", "one session: meta, TTLs, state and decoded messages", _show_setup)
def cmd_show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        session: Session = store.get(args.session_id)
        messages = (store.history if args.history else store.messages)(args.session_id)
        state = store.get_state(args.session_id)
        ttls = _key_ttls(store, args.session_id)
    if args.json:
        _json({"session": session.model_dump(mode="json"), "state": state, "key_ttls": ttls,
               "messages": [m.model_dump(mode="json") for m in messages]})
        return EXIT_OK
    meta = Table("field", "value", title=f"session {session.id}")
    for name, value in session.model_dump().items():
        meta.add_row(name, str(value))
    out.print(meta)
    keys = Table("key", "ttl")
    for key, ttl in ttls.items():
        keys.add_row(key, "(no key)" if ttl is None else f"{ttl:.1f}s")
    out.print(keys)
    if state:
        out.print(f"state: {json.dumps(state, ensure_ascii=False)}")
    out.print(_messages_table(messages))
    return EXIT_OK


def _messages_table(messages: list[Message]) -> Table:
    table = Table("seq", "role", "tokens", "content", title="messages")
    for m in messages:
        text = m.content or json.dumps(m.tool_calls)
        table.add_row(str(m.seq), m.role, str(m.tokens), text)
    return table


# -- tail --------------------------------------------------------------------------------------

def _tail_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--session", help="only events of this session")
    p.add_argument("--replies", action="store_true", help="with --session: read the session's "
                   "own channel, which also carries streaming replies' deltas as they come")
    p.add_argument("--count", type=count(1), help="stop after this many events")
    p.add_argument("--timeout", type=float, help="stop after this many seconds")
    _json_flag(p)


def _event_line(event: dict[str, Any]) -> str:
    ts = datetime.fromtimestamp(event.get("ts", 0) / 1000).strftime("%H:%M:%S.%f")[:-3]
    rest = " ".join(f"{k}={v}" for k, v in event.items() if k not in ("type", "sid", "ts"))
    return f"{ts} {event.get('type', '?'):<14} {event.get('sid', '-')} {rest}"


@command("tail", "follow events live (created, appended, trimmed, summarized, ...)", _tail_setup)
def cmd_tail(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout if args.timeout else None
    seen = 0

    def stop() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    own = args.session if args.replies else None
    if args.replies and not args.session:
        err.print("--replies needs --session")
        return EXIT_USAGE
    with open_store(args, session_events=own is not None) as store:
        # Redis down: fail after the connection timeout and retries, not wait for events forever
        store.client.ping()
        # events(timeout=N) ends after N seconds without an event; stop() ends it after N in all
        source = (e.model_dump(exclude_none=True)
                  for e in store.events(session_id=own, timeout=args.timeout))
        try:
            for event in source:
                if args.session and event.get("sid") != args.session:
                    continue
                print(json.dumps(event) if args.json else _event_line(event), flush=True)
                seen += 1
                if (args.count and seen >= args.count) or stop():
                    break
        except KeyboardInterrupt:
            pass
    return EXIT_OK


# -- stats / sweep / delete --------------------------------------------------------------------

@command("stats", "store-wide totals kept by the scripts", _json_flag)
def cmd_stats(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        data = store.stats().as_dict()
    if args.json:
        _json(data)
        return EXIT_OK
    table = Table("stat", "value")
    for name, value in data.items():
        table.add_row(name, json.dumps(value) if isinstance(value, dict) else str(value))
    out.print(table)
    return EXIT_OK


@command("sweep", "repair indexes, publish and count expirations", _json_flag)
def cmd_sweep(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        report = store.repair_indexes()  # also sweeps: publishes and counts expirations
    data = report
    if args.json:
        _json(data)
    else:
        out.print(" ".join(f"{k}={v}" for k, v in data.items()) or "done")
    return EXIT_OK


def _repair_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("session_ids", nargs="+")
    _json_flag(p)


@command("repair", "rebuild damaged sessions from their lists (or delete their remains)",
         _repair_setup)
def cmd_repair(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        results = [store.repair(sid) for sid in args.session_ids]
    code = EXIT_NOT_FOUND if any(r.outcome == "missing" for r in results) else EXIT_OK
    if args.json:
        _json([r.model_dump(mode="json") for r in results])
        return code
    for r in results:
        out.print(f"{r.session_id}: {r.outcome}" + "".join(f"\n  {p}" for p in r.problems))
    return code


def _delete_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("session_ids", nargs="*")
    p.add_argument("--inactive-days", type=float,
                   help="delete sessions idle for this many days (all, or --user's)")
    p.add_argument("--user")
    p.add_argument("--yes", action="store_true", help="do not ask before deleting")
    p.add_argument("--dry-run", action="store_true",
                   help="with --inactive-days: list the sessions, delete nothing")


def _idle(store: Any, days: float, user: str | None) -> list[Session]:
    cutoff = datetime.now().astimezone() - timedelta(days=days)
    if user is not None:
        sids = [s.id for s in store.list_sessions(user, limit=10**9)]
    else:
        sids = store._all_sessions()
    return [s for _, s in store._metas(sids) if s is not None and s.last_activity <= cutoff]


def _confirm(question: str) -> bool:
    if not sys.stdin.isatty():
        err.print(f"{question} (no terminal to ask: pass --yes to delete, or --dry-run)")
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


@command("delete", "delete sessions by id, or those inactive for --inactive-days", _delete_setup)
def cmd_delete(args: argparse.Namespace) -> int:
    if bool(args.session_ids) == (args.inactive_days is not None) or \
            (args.inactive_days is not None and args.inactive_days < 0):
        err.print("give session ids or --inactive-days N >= 0 (not both)")
        return EXIT_USAGE
    with open_store(args) as store:
        if args.inactive_days is not None:
            idle = _idle(store, args.inactive_days, args.user)
            if args.dry_run:
                for s in idle:
                    out.print(f"{s.id}\t{_when(s.last_activity)}")
                out.print(f"{len(idle)} sessions idle for over {args.inactive_days:g} days")
                return EXIT_OK
            ask = f"{len(idle)} sessions idle for over {args.inactive_days:g} days. Delete them?"
            if idle and not args.yes and not _confirm(ask):
                out.print("deleted nothing")
                return EXIT_FAIL
            n = store.delete_inactive(timedelta(days=args.inactive_days), user_id=args.user)
            out.print(f"deleted {n} sessions")
            return EXIT_OK
        missing = [sid for sid in args.session_ids if not store.delete(sid)]
    for sid in missing:
        err.print(f"not found: {sid}")
    out.print(f"deleted {len(args.session_ids) - len(missing)} sessions")
    return EXIT_NOT_FOUND if missing else EXIT_OK


from . import cli_transfer  # noqa: E402, F401  (registers export and import after these)
