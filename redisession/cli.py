"""The redisession command line (plain text: ``--help`` shows the DESCRIPTION below).

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

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisClusterException, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

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


DESCRIPTION = """\
The redisession command line: look at, follow, back up and clean up the sessions a
redisession store keeps in Redis.

Give the Redis URL with --url or the REDIS_URL environment variable, and the key prefix
with --prefix or REDISESSION_PREFIX (default rs); both options work before or after the
command. Exit codes: 0 ok, 1 failure (Redis unreachable, an import error), 2 usage (bad
arguments, a bad or missing URL), 3 not found.
"""


def _global_options(p: argparse.ArgumentParser, top: bool) -> None:
    """--url and --prefix; on a command's parser they default to "not given" so a value
    given before the command is kept."""
    url = os.environ.get("REDIS_URL") if top else argparse.SUPPRESS
    prefix = os.environ.get("REDISESSION_PREFIX", "rs") if top else argparse.SUPPRESS
    p.add_argument("--url", default=url, help="Redis URL (default: $REDIS_URL)")
    p.add_argument("--prefix", default=prefix,
                   help="key prefix of the sessions (default: $REDISESSION_PREFIX or rs)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="redisession", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help, setup, _fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help, description=help)
        setup(p)
        _global_options(p, top=False)
    return parser


def _say(text: str) -> None:
    print(f"redisession: {text}", file=sys.stderr)


def _quiet_stdout() -> None:
    """After a broken pipe (``... | head``): send what Python still flushes to /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from . import cli_manage  # noqa: F401  (registers the operator commands)
    except ImportError as e:
        if e.name != "rich":
            raise
        _say("the command line needs the 'cli' extra: pip install 'redisession[cli]'")
        return EXIT_FAIL
    from . import cli_serve  # noqa: F401  (serve, api-key: issue 12)
    from .errors import InvalidInput, RedisessionError, SessionNotFound

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command not in ("demo", "api-key") and not args.url:
        parser.print_usage(sys.stderr)
        _say("error: no Redis: pass --url or set REDIS_URL")
        return EXIT_USAGE
    try:
        return COMMANDS[args.command][2](args)
    except BrokenPipeError:  # the reader went away (export - | head): stop without a word
        _quiet_stdout()
        return EXIT_FAIL
    except SessionNotFound as e:
        _say(str(e))
        return EXIT_NOT_FOUND
    except InvalidInput as e:
        _say(str(e))
        return EXIT_USAGE
    except (RedisConnectionError, RedisTimeoutError) as e:
        _say(f"cannot reach Redis: {e}")
        return EXIT_FAIL
    except (RedisessionError, RedisError, RedisClusterException, OSError) as e:
        _say(f"{type(e).__name__}: {e}")
        return EXIT_FAIL


if __name__ == "__main__":
    from redisession.cli import main as _main  # the registry lives in the imported module

    sys.exit(_main())
