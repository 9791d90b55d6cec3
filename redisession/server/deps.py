"""Request dependencies: who is calling (API key or stream token), and their tenant's store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .auth import KeyRing, Principal, Scope, TokenSigner, allows
from .tenants import Tenant, Tenants

_bearer = HTTPBearer(auto_error=False, description="an API key: Authorization: Bearer <key>")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="an API key")

_BEARER = Security(_bearer)
_HEADER = Security(_header)
_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="redisession"'}


@dataclass(frozen=True)
class Caller:
    """The authenticated caller and the store of its tenant."""

    who: Principal
    tenant: Tenant


def _tenant(request: Request, who: Principal) -> Caller:
    tenants: Tenants = request.app.state.tenants
    tenant = tenants.get(who.prefix)
    if tenant is None:  # a token signed for a prefix this instance does not serve
        raise HTTPException(403, "this key's tenant is not served here")
    request.state.key_name = who.name
    return Caller(who, tenant)


def _from_key(request: Request, bearer: HTTPAuthorizationCredentials | None,
              header: str | None) -> Principal | None:
    keys: KeyRing | None = request.app.state.keys
    if keys is None:  # --insecure without keys, or loopback only: one open tenant
        default: Principal = request.app.state.open_principal
        return default
    presented = bearer.credentials if bearer is not None else header
    if not presented:
        return None
    return keys.lookup(presented)


def require(scope: Scope) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, if its key is known (401 otherwise) and has ``scope`` (403)."""

    async def dependency(request: Request,
                         bearer: HTTPAuthorizationCredentials | None = _BEARER,
                         header: str | None = _HEADER) -> Caller:
        who = _from_key(request, bearer, header)
        if who is None:
            raise HTTPException(401, "send an API key: Authorization: Bearer <key>",
                                headers=_UNAUTHORIZED)
        if not allows(who.scope, scope):
            raise HTTPException(403, f"this key's scope is {who.scope!r}; this needs {scope!r}")
        return _tenant(request, who)

    return dependency


async def stream_caller(request: Request, token: str | None = None,
                        bearer: HTTPAuthorizationCredentials | None = _BEARER,
                        header: str | None = _HEADER) -> Caller:
    """For SSE endpoints: an API key as usual, or ``?token=`` from ``POST /v1/stream-token``."""
    if token:
        signer: TokenSigner = request.app.state.signer
        who = signer.verify(token)
        if who is None:
            raise HTTPException(401, "stream token invalid or expired: get a new one",
                                headers=_UNAUTHORIZED)
    else:
        found = _from_key(request, bearer, header)
        if found is None:
            raise HTTPException(401, "send an API key, or ?token= from POST /v1/stream-token",
                                headers=_UNAUTHORIZED)
        who = found
    return _tenant(request, who)


Reader = Depends(require("read"))
Writer = Depends(require("write"))
Admin = Depends(require("admin"))
Streamer = Depends(stream_caller)
