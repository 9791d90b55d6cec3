"""The ASGI app: `create_app(ServerSettings(...))`. Run it with ``redisession serve``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp

from .. import __version__
from ..config import ConnectionSettings
from . import problems, routes_data, routes_live, routes_sessions
from .auth import KeyRing, Principal, TokenSigner
from .metrics import AccessMiddleware, Metrics
from .openapi import errors
from .schemas import Health
from .tenants import Tenants

log = logging.getLogger("redisession.server")
access_log = logging.getLogger("redisession.server.access")


@dataclass
class ServerSettings:
    """What the service needs: Redis, keys, and the store settings of every tenant.

    Args:
        url: Redis URL (any the store's ``from_url`` takes).
        keys: the API keys; None serves one open tenant, ``prefix``, with every scope (only
            for loopback or ``--insecure``: the CLI enforces that).
        prefix: the open tenant's prefix when ``keys`` is None.
        token_secret: HMAC secret of stream tokens (set the same on every replica).
        store: `SessionConfig` fields for every tenant store (``cache_size``, ``ttl``, ...).
    """

    url: str
    keys: KeyRing | None = None
    prefix: str = "rs"
    token_secret: str | None = None
    connection: ConnectionSettings | None = None
    store: dict[str, Any] = field(default_factory=dict)


STATIC = resources.files("redisession.server") / "static"
MAX_BODY_BYTES = 16 << 20
"""Largest request body (413 beyond); ``POST /v1/import`` has its own, larger limit."""


class ServiceApp(FastAPI):
    """FastAPI with our layers outermost: the access log and metrics see every response, and
    plain-text errors from FastAPI's own outer layers (the body limit's 413) become problems."""

    metrics: Metrics

    def build_middleware_stack(self) -> ASGIApp:
        inner = problems.PlainErrorsAsProblems(super().build_middleware_stack())
        return AccessMiddleware(inner, metrics=self.metrics, log=access_log)


def create_app(settings: ServerSettings) -> FastAPI:
    """The FastAPI app over one store per tenant prefix."""
    prefixes = settings.keys.prefixes if settings.keys is not None else {settings.prefix}
    tenants = Tenants(settings.url, prefixes, connection=settings.connection,
                      **settings.store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await tenants.open()
        log.info("serving %d tenant(s) with %s", len(prefixes),
                 f"{len(settings.keys)} API key(s)" if settings.keys is not None
                 else "no API keys (open)")
        try:
            yield
        finally:
            await tenants.close()
            log.info("stopped")

    app = ServiceApp(title="redisession", version=__version__, lifespan=lifespan,
                     max_body_size=MAX_BODY_BYTES,
                     summary="LLM conversation sessions in Redis, over HTTP",
                     description="Every error is application/problem+json (RFC 9457). "
                                 "Authenticate with `Authorization: Bearer <API key>`.")
    metrics = app.metrics = Metrics(tenants)
    app.state.tenants = tenants
    app.state.keys = settings.keys
    app.state.open_principal = Principal("open", settings.prefix, "admin")
    app.state.signer = TokenSigner(settings.token_secret)
    app.state.store_errors = metrics.store_errors
    problems.install(app)
    app.include_router(routes_sessions.router)
    app.include_router(routes_data.router)
    app.include_router(routes_live.router)

    @app.get("/healthz", response_model=Health, tags=["ops"])
    async def healthz() -> Health:
        """The process is up (no Redis call)."""
        return Health(status="ok")

    @app.get("/readyz", response_model=Health, tags=["ops"], responses=errors(503))
    async def readyz() -> Health:
        """Redis answers (one PING through the store)."""
        for tenant in tenants.all()[:1]:
            await tenant.store.ping()
        return Health(status="ok")

    @app.get("/metrics", tags=["ops"], response_class=Response,
             responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
    async def prometheus_metrics() -> Response:
        """Prometheus text format."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
