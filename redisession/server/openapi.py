"""The problem+json responses each route documents, so the OpenAPI schema lists every status
the route can answer (a client generator and schemathesis both read them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .problems import MEDIA_TYPE


class Problem(BaseModel):
    """An RFC 9457 problem."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    instance: str


_ALWAYS = (400, 401, 403, 422, 500, 503, 504, 507)
_TEXT = {400: "a body that cannot be parsed", 401: "no API key, or an unknown one",
         403: "the key's scope does not allow this",
         404: "no such session", 409: "conflict", 410: "gone", 413: "message too large",
         422: "invalid input", 423: "session inactive", 500: "internal error (no traceback)",
         501: "not offered", 503: "Redis unreachable", 504: "durability shortfall",
         507: "Redis out of memory"}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route that can fail with ``codes`` (plus the ones any can)."""
    return {code: {"model": Problem, "description": _TEXT.get(code, "error"),
                   "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            for code in sorted(set(codes) | set(_ALWAYS))}
