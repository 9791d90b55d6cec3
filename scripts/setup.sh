#!/usr/bin/env bash
# Prepare a fresh Debian/Ubuntu machine: redis-server if missing, a venv with the package.
# Idempotent: a second run only checks. Used by scripts/demo.sh, scripts/test.sh and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: installing redis-server (Debian package)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
fi
version=$(redis-server --version | sed -E 's/.*v=([0-9]+)\..*/\1/')
if [ "$version" -lt 7 ]; then
  echo "setup: redis-server $(redis-server --version) is older than 7.0; install Redis 7+" >&2
  exit 1
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv || {
    echo "setup: python3 -m venv failed; on Debian: apt-get install python3-venv" >&2; exit 1; }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# EXTRAS: the optional dependency groups to install (default "test"; "" installs the package only)
EXTRAS=${EXTRAS-test}
if [ -n "$EXTRAS" ]; then
  .venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
else
  .venv/bin/python -m pip install -q -e .
fi
case ",${EXTRAS}," in *,test,*|*,dev,*) scripts/setup-browser.sh ;; esac
