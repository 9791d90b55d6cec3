"""``redisession serve`` (the HTTP service, extra ``server``) and ``redisession api-key``.

Registered here without importing FastAPI, so the CLI works without the extra; ``serve``
imports it when run and says which extra to install when it is missing.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import sys
from typing import Any

from .cli import EXIT_OK, EXIT_USAGE, command


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _serve_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (8080)")
    p.add_argument("--keys", default=os.environ.get("REDISESSION_KEYS_FILE"),
                   help="API key file (JSON; default $REDISESSION_KEYS_FILE); keys also come "
                        "from $REDISESSION_API_KEYS")
    p.add_argument("--insecure", action="store_true",
                   help="allow listening on a non-loopback address without API keys")
    p.add_argument("--cache-size", type=int, default=1000,
                   help="local cache of sessions per tenant (1000; 0 = off)")
    p.add_argument("--log-level", default="info", help="debug, info, warning (info)")
    p.add_argument("--shutdown-timeout", type=float, default=5.0,
                   help="seconds open requests get to finish on SIGTERM (5)")


@command("serve", "the HTTP API and session browser (needs the 'server' extra)", _serve_setup)
def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from .server import ServerSettings, create_app
        from .server.auth import ENV_KEYS, KeyRing
    except ImportError as e:
        print(f"redisession serve needs the server extra: pip install 'redisession[server]' "
              f"({e.name} is missing)", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    keys = KeyRing.load(args.keys, os.environ.get(ENV_KEYS))
    if not len(keys):
        if not is_loopback(args.host) and not args.insecure:
            print(f"redisession serve: refusing to listen on {args.host} without API keys: "
                  f"give --keys or ${ENV_KEYS} (see 'redisession api-key'), or --insecure",
                  file=sys.stderr)
            return EXIT_USAGE
        logging.getLogger("redisession.server").warning(
            "no API keys: every caller gets admin on prefix %r", args.prefix)
    app = create_app(ServerSettings(url=args.url, keys=keys if len(keys) else None,
                                    prefix=args.prefix,
                                    store={"cache_size": args.cache_size}))
    config = uvicorn.Config(app, host=args.host, port=args.port, access_log=False,
                            log_level=args.log_level.lower(), lifespan="on",
                            timeout_graceful_shutdown=args.shutdown_timeout)
    _graceful(uvicorn, config, app.state.tenants).run()
    return EXIT_OK


def _graceful(uvicorn: Any, config: Any, tenants: Any) -> Any:
    """A uvicorn server that, on SIGTERM/SIGINT, also ends the open event streams, which
    would otherwise hold the graceful shutdown until its timeout."""

    class Server(uvicorn.Server):  # type: ignore[misc]
        def handle_exit(self, sig: int, frame: Any) -> None:
            tenants.shutdown_streams()
            super().handle_exit(sig, frame)

    return Server(config)


def _key_setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("--key-prefix", dest="key_prefix", default=None,
                   help="tenant prefix the key is bound to (default: --prefix)")
    p.add_argument("--scope", choices=("read", "write", "admin"), default="write")
    p.add_argument("--name", default="", help="a name for logs (never the key itself)")


@command("api-key", "make an API key: prints the key once, and the entry for the key file",
         _key_setup)
def cmd_api_key(args: argparse.Namespace) -> int:
    from .server.auth import digest, new_key

    key = new_key()
    entry = {"name": args.name or f"{args.scope}-key", "prefix": args.key_prefix or args.prefix,
             "scope": args.scope, "sha256": digest(key)}
    print(key)
    print(f"add to the key file's \"keys\" list: {json.dumps(entry)}", file=sys.stderr)
    return EXIT_OK
