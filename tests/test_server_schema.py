"""Property-based run over the OpenAPI schema (schemathesis): generated requests, valid and
invalid, against a real uvicorn and redis-server; no 5xx, and every response matches the
schema (status documented, content type, body, headers), invalid requests are rejected with a
4xx, and auth is enforced. The event streams are left out: they never end by design
(tests/test_server_live.py covers them). Left out too: ``positive_data_acceptance``, which
wants a 2xx for any schema-valid request; a cursor this API never issued, or a tool message
without its call id, is schema-valid and still rightly a 422."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")
schemathesis = pytest.importorskip("schemathesis")

from _server import ADMIN, Keys, auth  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from redisession.server import ServerSettings, create_app  # noqa: E402
from redisession.testing import free_port  # noqa: E402

pytestmark = pytest.mark.slow


@schemathesis.serializer("application/x-ndjson")
def _ndjson(ctx: Any, value: Any) -> bytes:
    """The import body: generated text as is (it is one JSON Lines file, or garbage)."""
    return value.encode() if isinstance(value, str) else json.dumps(value).encode()


@pytest.fixture(scope="module")
def base_url(redis_url: str) -> Iterator[str]:
    """uvicorn in a thread of its own (schemathesis calls it synchronously)."""
    import uvicorn

    prefix = f"sch{uuid.uuid4().hex[:8]}"
    app = create_app(ServerSettings(url=redis_url, keys=Keys(prefix, prefix + "b").ring()))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    for _ in range(500):
        if server.started or not thread.is_alive():
            break
        threading.Event().wait(0.02)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    assert not thread.is_alive()


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_server_errors_and_responses_match_the_schema(base_url: str, mode: str) -> None:
    """Each operation with bounded examples (schemathesis' pytest plugin does not load on
    this pytest, so hypothesis drives its strategies directly)."""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis.checks import positive_data_acceptance

    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    generation = schemathesis.GenerationMode(mode)
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.endswith("/events"):
            continue

        @settings(max_examples=5, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=generation))
        def run(case: Any) -> None:
            case.call_and_validate(base_url=base_url, headers=auth(ADMIN),
                                   excluded_checks=[positive_data_acceptance])

        try:
            run()
        except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
            assert mode == "negative", operation.label
            continue
        tested += 1
    assert tested >= (15 if mode == "positive" else 10)
