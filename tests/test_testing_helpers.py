"""redisession.testing: the helpers users start real servers with."""

from __future__ import annotations

from redisession import SessionStore
from redisession.testing import RedisServer


def test_a_server_with_requirepass_starts_and_its_url_and_client_authenticate() -> None:
    with RedisServer(config={"requirepass": "s3cret/PW"}) as srv:  # start() used to spin
        assert srv.client().ping()
        assert "s3cret%2FPW@" in srv.url
        store = SessionStore.from_url(srv.url)
        try:
            assert store.create().version == 1
        finally:
            store.close()
