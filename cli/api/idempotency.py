"""The Idempotency-Key header: a POST retried under the same key gets the first answer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request, Response

from signin_webhooks.cli.api.backend import Backend
from signin_webhooks.cli.api.problems import MEDIA_TYPE, in_fields, problem, status_of
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.eventstore import SigninWebhooksError, StoreError
from signin_webhooks.eventstore.errors import Conflict

HEADER = "Idempotency-Key"
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    media_type: str = "application/json"


def reply(status: int, value: Any) -> Reply:
    return Reply(status, _encode(value))


async def answer(
    request: Request[Any, Any, Any],
    backend: Backend,
    tenant: Tenant,
    act: Callable[[], Reply],
    body: bytes = b"",
) -> Response[Any]:
    """Run `act` on the backend's thread once per Idempotency-Key (when one is given)."""
    key = request.headers.get(HEADER.lower())
    if key is None:
        done = await backend.call(act)
        return Response(done.body, status_code=done.status, media_type=done.media_type)
    parts = [request.method, request.url.path, request.url.query]
    digest = hashlib.sha256(b"\0".join([*(p.encode() for p in parts), body])).hexdigest()
    done, replayed = await backend.call(_once, backend, tenant, key, digest, act)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(done.body, status_code=done.status, media_type=done.media_type, headers=headers)


def _once(
    backend: Backend, tenant: Tenant, key: str, fingerprint: str, act: Callable[[], Reply]
) -> tuple[Reply, bool]:
    requests = backend.system.requests
    earlier = requests.claim(tenant.token.id, key, fingerprint)
    if earlier is not None:
        if earlier.fingerprint != fingerprint:
            raise Conflict(
                f"{HEADER} {key!r} was used for another request; give each request its own key"
            )
        if earlier.status is None:
            raise Conflict(
                f"the request under {HEADER} {key!r} is still running, or was interrupted;"
                " check whether it took effect, then retry with a new key"
            )
        media = earlier.content_type or "application/json"
        return Reply(earlier.status, (earlier.body or "").encode(), media), True
    try:
        done = act()
    except StoreError:
        raise  # nothing known to be done: the claim stays open, and says so to a retry
    except SigninWebhooksError as e:
        shown = problem(status_of(e), in_fields(e))
        done = Reply(shown.status_code, shown.content, MEDIA_TYPE)  # type: ignore[arg-type]  # bytes
    requests.answer(
        tenant.token.id, key, status=done.status, content_type=done.media_type, body=done.body
    )
    return done, False
