"""The ``redisession`` command line.

Each command is a function ``cmd_<name>(args) -> int`` registered in `COMMANDS` with its
argument setup; the exit code is the function's return value:

    0  ok
    1  failure (Redis unreachable, a script or import error)
    2  usage (bad arguments, no --url / REDIS_URL)
    3  not found (a session id that does not exist)

Read commands (ls, show, stats, tail, sweep) take ``--json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3

Setup = Callable[[argparse.ArgumentParser], None]
Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[str, Setup, Command]] = {}


def command(name: str, help: str, setup: Setup = lambda p: None) -> Callable[[Command], Command]:
    """Register ``fn`` as ``redisession <name>``."""
    def register(fn: Command) -> Command:
        COMMANDS[name] = (help, setup, fn)
        return fn
    return register


def _demo_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--instances", type=int, default=3, help="app-instance processes (3)")
    p.add_argument("--sessions", type=int, default=4, help="shared sessions (4)")
    p.add_argument("--turns", type=int, default=20, help="turns per instance (20)")
    p.add_argument("--keep", action="store_true", help="keep the sessions for inspection")


@command("demo", "several app instances sharing sessions (starts a private Redis if "
         "REDIS_URL is unset)", _demo_setup)
def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run

    return run(url=args.url, instances=args.instances, sessions=args.sessions, turns=args.turns,
               keep=args.keep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redisession", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("REDIS_URL"),
                        help="Redis URL (default: $REDIS_URL)")
    parser.add_argument("--prefix", default=os.environ.get("REDISESSION_PREFIX", "rs"),
                        help="key prefix of the sessions (default: $REDISESSION_PREFIX or rs)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, setup, _fn) in COMMANDS.items():
        setup(sub.add_parser(name, help=help, description=help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from . import (
        cli_manage,  # noqa: F401  (registers the operator commands)
        cli_serve,  # noqa: F401  (serve, api-key: issue 12)
    )
    from .errors import InvalidInput, RedisessionError, SessionNotFound

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in ("demo", "api-key") and not args.url:
        parser.print_usage(sys.stderr)
        print("redisession: error: no Redis: pass --url or set REDIS_URL", file=sys.stderr)
        return EXIT_USAGE
    try:
        return COMMANDS[args.command][2](args)
    except SessionNotFound as e:
        print(f"redisession: {e}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except InvalidInput as e:
        print(f"redisession: {e}", file=sys.stderr)
        return EXIT_USAGE
    except (RedisessionError, RedisError, OSError) as e:
        print(f"redisession: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":
    from redisession.cli import main as _main  # the registry lives in the imported module

    sys.exit(_main())
