"""Bearer tokens: who is calling, checked on every API request; refusals are logged without
the token."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from signin_webhooks.cli.api.backend import Backend
from signin_webhooks.cli.api.problems import log
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.eventstore.errors import Unauthorized

SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


async def provide_tenant(request: Request[Any, Any, Any], state: State) -> Tenant:
    backend: Backend = state.backend
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    try:
        if not header:
            raise Unauthorized(
                "no token: send `Authorization: Bearer <token>`; make one with"
                " `signin-webhooks tokens create`"
            )
        if scheme.lower() != "bearer" or not presented.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        token = await backend.call(backend.system.tokens.authenticate, presented.strip())
    except Unauthorized as e:
        client = request.client.host if request.client else "unknown"
        log.warning("refused %s %s from %s: %s", request.method, request.url.path, client, e)
        raise
    return Tenant(backend.system, token)
