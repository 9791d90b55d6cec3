#!/usr/bin/env bash
# The demo on a fresh machine: set up (venv, package, redis-server), then `redisession demo`.
# Uses $REDIS_URL if set, else a private redis-server it starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS=hiredis,cli scripts/setup.sh
exec .venv/bin/redisession demo "$@"
