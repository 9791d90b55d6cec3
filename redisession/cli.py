"""The ``redisession`` command line.

Each command is a function ``cmd_<name>(args) -> int`` registered in `COMMANDS` with its
argument setup; the exit code is the function's return value (0 ok, 1 failure, 2 usage,
3 not found).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

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
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, setup, _fn) in COMMANDS.items():
        setup(sub.add_parser(name, help=help, description=help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return COMMANDS[args.command][2](args)


if __name__ == "__main__":
    sys.exit(main())
