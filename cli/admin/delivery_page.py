"""One delivery (`.../deliveries/{id}`): each attempt (its time, duration, trigger, URL,
request headers redacted, the response, what went wrong in words), the exact body sent,
pretty-printed, with the raw bytes a click away and a download of them; retry."""

from __future__ import annotations

import json
from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Template

from signin_webhooks.cli.admin.guard import SCOPES, Viewer, admit, delivery_of, failed, scope_of
from signin_webhooks.cli.admin.pages import base_of, take_notice
from signin_webhooks.cli.deliveries import attempt_view, delivery_view
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore import NotFound, SigninWebhooksError, StoreError
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery

# What went wrong, as a person says it, for each error kind the transport records.
_WORDS = {
    "connection_refused": "connection refused",
    "connection_reset": "connection reset: the endpoint closed it before answering in full",
    "dns": "the host name did not resolve",
    "tls": "TLS failed: the handshake or the certificate check",
    "blocked_address": "not sent: the address is on a network the installation does not allow",
    "protocol": "not an HTTP response the transport could read",
}


def in_words(a: AttemptRecorded) -> str | None:
    """An attempt's error kind in words; None for one the endpoint answered with a 2xx."""
    if a.error_kind is None:
        return None
    if a.error_kind == "timeout":
        took = f"{round(a.duration, 1):g} s" if a.duration >= 1 else f"{a.duration * 1000:.0f} ms"
        return f"timed out after {took}"
    if a.error_kind == "http_status":
        return f"the endpoint answered HTTP {a.status}"
    if a.error_kind == "redirect":
        return f"the endpoint answered a redirect (HTTP {a.status}), which is not followed"
    return _WORDS.get(a.error_kind, a.error_kind)


def retry_button(tenant_writes: bool, d: Delivery) -> dict[str, Any] | None:
    """The Retry button the delivery shows: its label, whether it forces and why it must; none
    for a test delivery, nor for a token that may not write."""
    if not tenant_writes or d.trigger == "test":
        return None
    if d.status in ("failed", "cancelled"):
        return {"label": "Retry", "force": False, "though": ""}
    if d.status == "succeeded":
        return {"label": "Send again", "force": True, "though": "though it has succeeded"}
    return {"label": "Retry now", "force": True, "though": f"though it is still {d.status}"}


def _content_type(attempts: list[AttemptRecorded], ndjson: bool) -> str:
    for a in attempts:
        for name, value in a.request_headers.items():
            if name.lower() == "content-type":
                return value
    return "application/x-ndjson" if ndjson else "application/json"


def _paths(tail: str = "") -> list[str]:
    return [f"/{plural}/{{scope_id:str}}/deliveries/{{delivery_id:str}}{tail}"
            for plural in SCOPES]  # fmt: skip


@get(_paths(), include_in_schema=False)
async def delivery_page(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Response[Any]:
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=False)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant = viewer.tenant

    def read() -> dict[str, Any]:
        delivery, attempts, sub = delivery_of(tenant, scope, scope_id, delivery_id)
        try:
            body: str | None = tenant.system.deliveries.body(delivery).decode()
        except StoreError:
            body = None  # the log no longer holds its events
        shown = [{**attempt_view(a), "words": in_words(a)} for a in attempts]
        return {"delivery": delivery_view(delivery), "attempts": shown, "body": body,
                "pretty": _pretty(body), "sub": view(sub),
                "retry": retry_button(not tenant.token.read_only, delivery)}  # fmt: skip

    try:
        found = await state.backend.call(read)
    except SigninWebhooksError as e:
        return failed(e)
    here = f"{base_of(scope, scope_id).removesuffix('/webhooks')}/deliveries/{delivery_id}"
    context = {**found, "base": base_of(scope, scope_id), "here": here,
               "csrf": viewer.session.csrf, "signed_in": tenant.described(),
               "notice": take_notice(viewer.session)}  # fmt: skip
    return Template("delivery.html", context=context)


@get(_paths("/body"), include_in_schema=False)
async def delivery_body(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Response[Any]:
    """The exact bytes sent, as a file to save."""
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=False)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant = viewer.tenant

    def read() -> tuple[bytes, str, Delivery]:
        delivery, attempts, _ = delivery_of(tenant, scope, scope_id, delivery_id)
        try:
            body = tenant.system.deliveries.body(delivery)
        except StoreError:
            raise NotFound(
                f"the body of delivery {delivery.id} is no longer in the log: retention"
                " removed its events"
            ) from None
        return body, _content_type(attempts, delivery.ndjson), delivery

    try:
        body, content_type, delivery = await state.backend.call(read)
    except SigninWebhooksError as e:
        return failed(e)
    name = f"{delivery.id}.{'ndjson' if delivery.ndjson else 'json'}"
    return Response(body, media_type=content_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip


def _pretty(body: str | None) -> str | None:
    if body is None:
        return None
    try:
        if body.endswith("\n") and not body.lstrip().startswith("["):
            return "\n".join(json.dumps(json.loads(line), indent=2) for line in body.splitlines())
        return json.dumps(json.loads(body), indent=2)
    except ValueError:
        return body


ROUTES = [delivery_page, delivery_body]
