"""One subscription's page, under a Context's or an Organization's Webhooks: its settings, its
health, its recent deliveries, its actions and its edit form."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.forms import catalogue_groups, form_of
from signin_webhooks.cli.admin.pages import _not_found, _viewer, base_of, take_notice
from signin_webhooks.cli.admin.recent_deliveries import recent
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore import NotFound


async def subscription_page(
    request: Request[Any, Any, Any],
    state: State,
    scope: str,
    scope_id: str,
    sub_id: str,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    """The page, with its edit form showing `form` (else the settings) and `errors` beside it."""
    viewer = await _viewer(request, state)
    if viewer is None:
        return Redirect("/signin", status_code=303)
    tenant, session = viewer
    query = dict(request.query_params)

    def read() -> dict[str, Any] | None:
        try:
            sub = tenant.subscription(sub_id, deleted_ok=True)
        except NotFound:
            return None
        if (sub.fields.scope, sub.fields.scope_id) != (scope, scope_id):
            return None
        health = next((r for r in tenant.system.status() if r["subscription_id"] == sub.id), {})
        listed = recent(tenant, scope, scope_id, sub.id, query)
        if sub.deleted:
            listed["refresh"] = None
        return {**listed, "sub": view(sub), "health": health, "form": form or form_of(sub)}

    found = await state.backend.call(read)
    if found is None:
        return _not_found(f"no subscription {sub_id!r} here")
    base = base_of(scope, scope_id)
    context = {**found, "base": base, "csrf": session.csrf, "signed_in": tenant.described(),
               "invalid": errors or {}, "groups": catalogue_groups(),
               "notice": take_notice(session),
               "can_write": not tenant.token.read_only}  # fmt: skip
    # a page showing a new secret is not kept by the browser or a proxy
    shows_secret = bool(context["notice"] and context["notice"].get("secret"))
    headers = {"Cache-Control": "no-store"} if shows_secret else None
    if context["filter_invalid"] and status == 200:
        status = 400
    return Template("subscription.html", context=context, status_code=status, headers=headers)


@get("/contexts/{context_id:str}/webhooks/{subscription_id:str}", include_in_schema=False)
async def context_subscription(
    request: Request[Any, Any, Any],
    state: State,
    context_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    return await subscription_page(request, state, "context", context_id, subscription_id)


@get("/organizations/{organization_id:str}/webhooks/{subscription_id:str}", include_in_schema=False)
async def organization_subscription(
    request: Request[Any, Any, Any],
    state: State,
    organization_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    return await subscription_page(request, state, "organization", organization_id, subscription_id)


ROUTES = [context_subscription, organization_subscription]
