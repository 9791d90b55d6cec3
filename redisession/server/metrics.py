"""Prometheus metrics: requests by route and status, latencies, store errors by type, and each
tenant store's local cache (hits, misses, hit rate). One registry per app, so two apps in one
process (tests) do not clash."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .tenants import Tenants


class CacheCollector(Collector):
    """Reads each tenant store's `cache_info()` at scrape time."""

    def __init__(self, tenants: Tenants) -> None:
        self._tenants = tenants

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        hits = CounterMetricFamily("redisession_cache_hits", "reads served by the local cache",
                                   labels=["prefix"])
        misses = CounterMetricFamily("redisession_cache_misses",
                                     "reads that fetched the whole session", labels=["prefix"])
        rate = GaugeMetricFamily("redisession_cache_hit_ratio",
                                 "hits / (hits + misses + refreshes) since start",
                                 labels=["prefix"])
        streams = GaugeMetricFamily("redisession_sse_streams", "open event streams",
                                    labels=["prefix"])
        for tenant in self._tenants.all():
            info = tenant.store.cache_info()
            reads = info.hits + info.misses + info.refreshes
            hits.add_metric([tenant.prefix], info.hits)
            misses.add_metric([tenant.prefix], info.misses)
            rate.add_metric([tenant.prefix], info.hits / reads if reads else 0.0)
            streams.add_metric([tenant.prefix], tenant.hub.streams)
        yield from (hits, misses, rate, streams)


class Metrics:
    """The app's registry and the instruments the middleware and error handlers use."""

    def __init__(self, tenants: Tenants) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("redisession_http_requests", "HTTP requests",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("redisession_http_request_duration_seconds",
                                 "time to the response's headers", ["method", "route"],
                                 registry=self.registry,
                                 buckets=(.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5))
        self.store_errors = Counter("redisession_store_errors", "store errors by type",
                                    ["type"], registry=self.registry)
        self.registry.register(CacheCollector(tenants))


def route_of(scope: Scope) -> str:
    """The route's path template (bounded label values), not the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class AccessMiddleware:
    """Counts and times every request and logs one line for it: method, route template, path
    (never the query string, which may hold a stream token), status, ms, and the key's name."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log: logging.Logger) -> None:
        self.app = app
        self.metrics = metrics
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = route_of(scope)
                self.metrics.latency.labels(scope["method"], route).observe(
                    time.perf_counter() - start)
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_of(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            state = scope.get("state") or {}
            self.log.info(
                "%s %s %d %.1fms key=%s", scope["method"], scope["path"], status,
                (time.perf_counter() - start) * 1000, state.get("key_name", "-"))
