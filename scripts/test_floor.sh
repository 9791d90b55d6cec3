#!/usr/bin/env bash
# A representative part of the suite against the lowest redis-py pyproject.toml allows, in a
# second venv (.venv-floor): the store on standalone, Cluster and Sentinel, the cache and
# events, ACL, pool, TLS, inputs, export/import and secrets (about 30 s; the whole suite
# twice would push CI past 10 minutes). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(sed -nE 's/^ *"redis>=([0-9.]+)",.*/\1/p' pyproject.toml | head -1)
if [ -z "$floor" ]; then echo "test_floor: no redis>= floor in pyproject.toml" >&2; exit 1; fi
PYTHON=${PYTHON:-python3}
[ -x .venv-floor/bin/python ] || "$PYTHON" -m venv .venv-floor
.venv-floor/bin/python -m pip install -q --upgrade pip >/dev/null
.venv-floor/bin/python -m pip install -q -e ".[test]" "redis==${floor}"
echo "test_floor: redis-py $(.venv-floor/bin/python -c 'import redis; print(redis.__version__)')"
exec .venv-floor/bin/python -m pytest -p no:cacheprovider -m "not slow" \
  tests/test_store.py tests/test_events.py tests/test_cache.py tests/test_sentinel.py \
  tests/test_transfer.py tests/test_acl.py tests/test_pool.py tests/test_tls.py \
  tests/test_inputs.py tests/test_secrets.py "$@"
