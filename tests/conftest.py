"""Fixtures: real redis-server processes on free loopback ports, stopped by pid.

``REDIS_URL`` (and ``REDIS_CLUSTER_URL``, ``redis+cluster://...``) replace the private servers
for the behaviour suites; tests that inject faults (SIGSTOP, kill, restart) always start their
own server. Every test gets its own key prefix, so tests never see each other's keys.
"""

from __future__ import annotations

import inspect
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis

from redisession import AsyncSessionStore, SessionStore
from redisession.testing import RedisCluster3, RedisServer, redis_url_or_private


def _docker_engine() -> bool:
    try:
        import docker  # testcontainers' dependency

        docker.from_env().ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A standalone Redis: $REDIS_URL, else a private redis-server for the whole run, else (no
    redis-server on PATH but a Docker engine and testcontainers installed) a redis:7 container."""
    if not os.environ.get("REDIS_URL") and shutil.which("redis-server") is None \
            and _docker_engine():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
            yield f"redis://{host}:{port}/0"
        return
    with redis_url_or_private() as url:
        yield url


@pytest.fixture(scope="session")
def cluster_url() -> Iterator[str]:
    """A 3-master Redis Cluster: $REDIS_CLUSTER_URL, else three private redis-servers."""
    url = os.environ.get("REDIS_CLUSTER_URL")
    if url:
        yield url
        return
    with RedisCluster3() as cluster:
        yield cluster.url


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A private redis-server for this test alone (for fault injection)."""
    with RedisServer() as s:
        yield s


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def raw(redis_url: str) -> Iterator[redis.Redis]:
    """A plain redis-py client on the standalone server, to look at keys directly."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10)
    yield client
    client.close()


class Awaitable:
    """Makes a sync store look like an async one, so one test suite drives both."""

    def __init__(self, store: SessionStore) -> None:
        self.sync = store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.sync, name)
        if not inspect.ismethod(attr):
            return attr

        async def call(*args: Any, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return call


def _url(request: pytest.FixtureRequest, backend: str) -> str:
    return str(request.getfixturevalue("cluster_url" if backend == "cluster" else "redis_url"))


CACHED: dict[str, Any] = {"cache_size": 100, "cache_max_age": 60.0}

STORE_PARAMS = [
    pytest.param(("sync", "single"), id="sync"),
    pytest.param(("async", "single"), id="async"),
    pytest.param(("sync", "cluster"), id="sync-cluster", marks=pytest.mark.cluster),
    pytest.param(("async", "cluster"), id="async-cluster", marks=pytest.mark.cluster),
    # The same suite with the local cache on: a long max age, so reads are served
    # from the cache and the writer's own entry updates are what keeps them right.
    pytest.param(("sync", "single", CACHED), id="sync-cached"),
    pytest.param(("async", "single", CACHED), id="async-cached"),
    pytest.param(("async", "single", {**CACHED, "consistency": "strict"}), id="async-strict"),
    pytest.param(("sync", "cluster", CACHED), id="sync-cluster-cached",
                 marks=pytest.mark.cluster),
    pytest.param(("async", "cluster", CACHED), id="async-cluster-cached",
                 marks=pytest.mark.cluster),
]


async def make_store(request: pytest.FixtureRequest, flavour: str, backend: str,
                     **settings: Any) -> Any:
    url = _url(request, backend)
    if flavour == "sync":
        return Awaitable(SessionStore.from_url(url, **settings))
    return AsyncSessionStore.from_url(url, **settings)


async def close_store(store: Any) -> None:
    if isinstance(store, Awaitable):
        store.sync.close()
    else:
        await store.aclose()


@pytest.fixture(params=STORE_PARAMS)
async def store_factory(request: pytest.FixtureRequest,
                        prefix: str) -> AsyncIterator[Any]:
    """``await store_factory(**settings)``: a store (sync stores wrapped to be awaited) on the
    parametrized flavour and backend, with this test's prefix. Closed after the test."""
    flavour, backend, *extra = request.param
    made: list[Any] = []

    async def factory(tokenizer: Any = None, **settings: Any) -> Any:
        settings.setdefault("prefix", prefix)
        settings = {**(extra[0] if extra else {}), **settings}
        store = await make_store(request, flavour, backend, tokenizer=tokenizer, **settings)
        made.append(store)
        return store

    factory.flavour = flavour  # type: ignore[attr-defined]
    factory.backend = backend  # type: ignore[attr-defined]
    factory.cached = bool(extra)  # type: ignore[attr-defined]
    yield factory
    for store in made:
        await close_store(store)


@pytest.fixture
async def store(store_factory: Any) -> Any:
    """A store with default settings, sync and async, standalone and cluster."""
    return await store_factory()


def keys_of(client: Any, prefix: str) -> list[bytes]:
    """Every key under ``prefix`` (on a cluster client: from every node)."""
    return sorted(client.scan_iter(match=f"{prefix}:*", count=1000))
