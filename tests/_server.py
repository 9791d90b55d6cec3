"""Helpers of the HTTP service tests: an app with keys for two tenants, clients over ASGI or
over a real uvicorn on a free loopback port (for streams and the browser)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from redisession.server import ServerSettings, create_app
from redisession.server.auth import KeyRing, Principal, digest
from redisession.testing import free_port

READ, WRITE, ADMIN, OTHER = "rsk_read-key", "rsk_write-key", "rsk_admin-key", "rsk_other-tenant"


@dataclass
class Keys:
    prefix: str
    other_prefix: str

    def ring(self) -> KeyRing:
        return KeyRing([
            (digest(READ), Principal("reader", self.prefix, "read")),
            (digest(WRITE), Principal("writer", self.prefix, "write")),
            (digest(ADMIN), Principal("admin", self.prefix, "admin")),
            (digest(OTHER), Principal("other", self.other_prefix, "admin")),
        ])


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextlib.asynccontextmanager
async def asgi_client(redis_url: str, prefix: str, **store: object) -> AsyncIterator[
        httpx.AsyncClient]:
    """A client straight into the app (lifespan run by hand), authenticated as the writer."""
    app = create_app(ServerSettings(url=redis_url, keys=Keys(prefix, prefix + "b").ring(),
                                    store=dict(store)))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api",
                                     headers=auth(WRITE)) as client:
            yield client


@contextlib.asynccontextmanager
async def live_server(redis_url: str, prefix: str, **store: object) -> AsyncIterator[str]:
    """A real uvicorn on a free loopback port in this event loop; yields its base URL."""
    import uvicorn

    app = create_app(ServerSettings(url=redis_url, keys=Keys(prefix, prefix + "b").ring(),
                                    store=dict(store)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, lifespan="on",
                                           timeout_graceful_shutdown=2))
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        app.state.tenants.shutdown_streams()
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class Sse:
    event: str
    data: str
    id: str | None


async def sse_events(response: httpx.Response) -> AsyncIterator[Sse]:
    """The events of a text/event-stream response as they arrive (comments skipped)."""
    event, data, ident = "message", [], None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield Sse(event, "\n".join(data), ident)
            event, data, ident = "message", [], None
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
            elif name == "id":
                ident = value


async def next_event(events: AsyncIterator[Sse], *types: str, timeout: float = 10) -> Sse:
    """The next event of one of ``types`` (others skipped), or fail after ``timeout``."""
    async def find() -> Sse:
        async for ev in events:
            if ev.event in types:
                return ev
        raise AssertionError(f"stream ended before a {types} event")

    return await asyncio.wait_for(find(), timeout)
