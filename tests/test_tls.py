"""The store, its cache listener and events over TLS: standalone (``rediss://``) with client
certificates required, Sentinel (``rediss+sentinel://``, password and TLS to the Sentinel and
to the data nodes) and Cluster (``rediss+cluster://``, ``tls-cluster yes``). Certificates are
made by the test with the openssl command line tool (tests/_tls.py)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from _tls import Certs, TLSCluster3, TLSRedisServer, TLSSentinelSet, make_certs

from redisession import AsyncSessionStore, ConnectionSettings, InvalidConfig, SessionStore
from redisession.events import Event

PW = "tls-Secret-pw"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(Path(tmp_path_factory.mktemp("certs")))


@pytest.fixture(scope="module")
def tls_server(certs: Certs) -> Iterator[TLSRedisServer]:
    with TLSRedisServer(certs, auth_clients=True, password=PW) as server:
        yield server


def _exercise(url: str, conn: ConnectionSettings | None = None) -> None:
    """Writes, reads, the cache listener and events, between two stores."""
    seen: list[Event] = []
    prefix = f"tls{uuid.uuid4().hex[:8]}"
    with SessionStore.from_url(url, prefix=prefix, connection=conn, cache_size=20) as reader, \
            SessionStore.from_url(url, prefix=prefix, connection=conn) as writer:
        reader.subscribe(seen.append)
        sid = writer.create(user_id="u").id
        writer.add(sid, "user", "over TLS")
        assert [m.content for m in reader.messages(sid)] == ["over TLS"]
        assert reader.cache_info().listening
        writer.add(sid, "assistant", "still TLS")
        deadline = time.monotonic() + 5
        while len([e for e in seen if e.sid == sid]) < 3:
            assert time.monotonic() < deadline, [e.type for e in seen]
            time.sleep(0.01)
        assert [e.type for e in seen if e.sid == sid] == ["created", "appended", "appended"]
        assert len(reader.messages(sid)) == 2  # the event invalidated the cached entry
        assert [s.id for s in writer.list_sessions("u")] == [sid]


def test_standalone_with_client_certificates_in_the_url(tls_server: TLSRedisServer) -> None:
    _exercise(tls_server.url)


def test_client_certificates_through_connection_settings(tls_server: TLSRedisServer,
                                                         certs: Certs) -> None:
    conn = ConnectionSettings(ssl_ca_certs=certs.ca, ssl_certfile=certs.cert("client"),
                              ssl_keyfile=certs.key("client"))
    _exercise(f"rediss://:{PW}@127.0.0.1:{tls_server.port}/0", conn)


def test_without_a_client_certificate_the_server_refuses(tls_server: TLSRedisServer,
                                                         certs: Certs) -> None:
    url = f"rediss://:{PW}@127.0.0.1:{tls_server.port}/0?ssl_ca_certs={certs.ca}"
    with SessionStore.from_url(url, prefix="tls", connection=ConnectionSettings(retries=0)) as s:
        with pytest.raises(redis.ConnectionError):
            s.create()


def test_tls_settings_need_a_tls_url(certs: Certs) -> None:
    with pytest.raises(InvalidConfig, match="rediss"):
        SessionStore.from_url("redis://127.0.0.1:1/0",
                              connection=ConnectionSettings(ssl_ca_certs=certs.ca))
    with pytest.raises(InvalidConfig, match="rediss"):
        SessionStore.from_url(f"redis://127.0.0.1:1/0?ssl_ca_certs={certs.ca}")


async def test_async_store_and_session_events_over_tls(tls_server: TLSRedisServer) -> None:
    async with AsyncSessionStore.from_url(tls_server.url, prefix="tlsa", cache_size=5,
                                          session_events=True) as store:
        sid = (await store.create()).id
        got: list[str] = []

        async def follow() -> None:
            async for e in store.events(sid, timeout=3):
                got.append(e.type)
                return

        task = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        await store.add(sid, "user", "hi")
        await asyncio.wait_for(task, 5)
        assert got == ["appended"] and len(await store.messages(sid)) == 1
        assert store.cache_info().listening


@pytest.mark.slow
def test_sentinel_with_password_and_tls_everywhere(certs: Certs) -> None:
    with TLSSentinelSet(certs, PW) as sset:
        assert sset.url.startswith("rediss+sentinel://")
        _exercise(sset.url)
        wrong = sset.url.replace(PW, "not-the-password")
        with SessionStore.from_url(wrong, prefix="tls",
                                   connection=ConnectionSettings(retries=0)) as store:
            with pytest.raises(redis.RedisError):
                store.create()


@pytest.mark.slow
@pytest.mark.cluster
def test_cluster_over_tls(certs: Certs) -> None:
    with TLSCluster3(certs) as cluster:
        _exercise(cluster.url)
