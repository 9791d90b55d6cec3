#!/usr/bin/env bash
# The whole test suite on a fresh machine: set up (venv, package, redis-server), then pytest.
# Extra arguments go to pytest (e.g. scripts/test.sh -m "not slow").
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
