"""Errors as ``application/problem+json`` (RFC 9457), one stable ``type`` per store error.

The table maps exception *class names* to (status, slug, title), walking each exception's MRO,
so a subclass without its own row gets its parent's, and errors added to the store later need
one row here. ``type`` is ``urn:redisession:problem:<slug>``: stable, and not a URL that would
have to be served. A 500 carries a problem body naming the error's type only; the traceback
goes to the server's log, never to the client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("redisession.server")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:redisession:problem:"

PROBLEMS: dict[str, tuple[int, str, str]] = {
    "SessionNotFound": (404, "session-not-found", "Session not found"),
    "MessageNotFound": (404, "message-not-found", "Message not found"),
    "SessionExists": (409, "session-exists", "Session already exists"),
    "SummaryConflict": (409, "summary-conflict", "Another instance summarized first"),
    "ReplyInProgress": (409, "reply-in-progress", "A reply is being streamed"),
    "MessageIdConflict": (409, "message-id-conflict", "Message id already used"),
    "ReplyGone": (410, "reply-gone", "The streamed reply no longer exists"),
    "MessageTooLarge": (413, "message-too-large", "Message too large"),
    "InvalidInput": (422, "invalid-input", "Invalid input"),
    "ImportFormatError": (422, "import-format", "Malformed import file"),
    "SessionInactive": (423, "session-inactive", "Session is inactive"),
    "StoreFullError": (507, "store-full", "Redis is out of memory"),
    "PoolExhausted": (503, "pool-exhausted", "No Redis connection free"),
    "ConnectionError": (503, "redis-unavailable", "Redis unreachable"),
    "TimeoutError": (503, "redis-unavailable", "Redis unreachable"),
    "DurabilityError": (504, "durability", "Write not confirmed by enough replicas"),
    "SessionCorrupted": (500, "session-corrupted", "Session data is corrupted"),
    "UnsupportedServer": (500, "unsupported-server", "Redis server too old"),
    "ExportIncomplete": (500, "export-incomplete", "Some sessions could not be exported"),
    "NoPermissionError": (500, "redis-permission", "Redis ACL forbids a command or key"),
    "ScriptError": (500, "script-error", "Script failed"),
    "RedisessionError": (500, "store-error", "Store error"),
    "RedisError": (500, "redis-error", "Redis error"),
}
"""Exception class name -> (HTTP status, type slug, title)."""

STATUS_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "API key missing or unknown"),
    403: ("forbidden", "Key not allowed to do this"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    413: ("too-large", "Request too large"),
    422: ("invalid-input", "Invalid input"),
}
"""Problems raised by the service itself (HTTPException), by status."""


def problem(status: int, slug: str, title: str, detail: str, request: Request,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail,
            "instance": request.url.path, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def classify(exc: BaseException) -> tuple[int, str, str]:
    """The row of ``exc``'s nearest class in `PROBLEMS`."""
    for cls in type(exc).__mro__:
        if cls.__name__ in PROBLEMS and (cls.__module__.startswith("redisession")
                                         or issubclass(cls, RedisError)):
            return PROBLEMS[cls.__name__]
    return 500, "internal", "Internal error"


def _store_error(request: Request, exc: Exception) -> JSONResponse:
    status, slug, title = classify(exc)
    counter = getattr(request.app.state, "store_errors", None)
    if counter is not None:
        counter.labels(type(exc).__name__).inc()
    if status >= 500:
        log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
    extra: dict[str, Any] = {}
    for attr in ("session_id", "line", "confirmed", "required"):
        if getattr(exc, attr, None) is not None:
            extra[attr] = getattr(exc, attr)
    detail = str(exc) if status < 500 or slug in ("store-full", "session-corrupted",
                                                  "redis-unavailable", "durability") \
        else f"{type(exc).__name__} (see the server log)"
    headers = {"Retry-After": "1"} if status == 503 else None
    return problem(status, slug, title, detail, request, headers, **extra)


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    return _store_error(request, exc)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))}
              for e in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    detail = f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return problem(422, "invalid-input", "Invalid input", detail, request, errors=errors)


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    slug, title = STATUS_PROBLEMS.get(exc.status_code, ("http-error", "HTTP error"))
    return problem(exc.status_code, slug, title, str(exc.detail), request,
                   dict(exc.headers) if exc.headers else None)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return problem(500, "internal", "Internal error", "unexpected error (see the server log)",
                   request)


class PlainErrorsAsProblems:
    """ASGI middleware: an error answered in plain text by a layer below the exception
    handlers (the request body limit's 413) goes out as a problem+json body instead."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: Message | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and message["status"] >= 400 and \
                    dict(message.get("headers", [])).get(b"content-type", b"").startswith(
                        b"text/plain"):
                held = message
                return
            if held is not None and message["type"] == "http.response.body":
                status = held["status"]
                slug, title = STATUS_PROBLEMS.get(status, ("http-error", "HTTP error"))
                body = json.dumps({"type": TYPE_BASE + slug, "title": title, "status": status,
                                   "detail": message.get("body", b"").decode(errors="replace"),
                                   "instance": scope["path"]}).encode()
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", MEDIA_TYPE.encode()),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                held = None
                return
            await send(message)

        await self.app(scope, receive, send_wrapper)


def install(app: FastAPI) -> None:
    """Register the handlers: store errors, redis errors, validation, HTTP, anything else."""
    from ..errors import RedisessionError

    app.add_exception_handler(RedisessionError, _on_store_error)
    app.add_exception_handler(RedisConnectionError, _on_store_error)
    app.add_exception_handler(RedisTimeoutError, _on_store_error)
    app.add_exception_handler(RedisError, _on_store_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
