"""Sending again, each a POST form with the session's CSRF token: retry one delivery (the
API's retry), and recover a window of a subscription's events, after a first step that shows
how many would be sent again (the API's recover, dry run first) and asks to confirm."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.guard import (
    SCOPES,
    Viewer,
    admit,
    delivery_of,
    failed,
    scope_of,
    subscription_of,
)
from signin_webhooks.cli.admin.pages import base_of
from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError

WAITS = " Nothing delivers from this database now: it waits for `signin-webhooks run`."


@post(
    [f"/{plural}/{{scope_id:str}}/deliveries/{{delivery_id:str}}/retry" for plural in SCOPES],
    include_in_schema=False,
    status_code=303,
)
async def retry(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    delivery_id: FromPath[str],
) -> Response[Any]:
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=True)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, force = viewer.tenant, viewer.form.get("force") == "1"

    def act() -> bool:
        delivery_of(tenant, scope, scope_id, delivery_id)
        tenant.require_write()
        return tenant.system.deliveries.retry(delivery_id, force=force).waits

    try:
        waits = await state.backend.call(act)
    except SigninWebhooksError as e:
        return failed(e)
    said = "Retry requested: it is sent again under the same webhook-id, in a new series of"
    viewer.session.notice = {"message": f"{said} attempts.{WAITS if waits else ''}"}
    here = f"{base_of(scope, scope_id).removesuffix('/webhooks')}/deliveries/{delivery_id}"
    return Redirect(here, status_code=303)


@post(
    [f"/{plural}/{{scope_id:str}}/webhooks/{{subscription_id:str}}/recover" for plural in SCOPES],
    include_in_schema=False,
    status_code=303,
)
async def recover(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    """Without `confirm`, the dry run: how many events the window holds, and a button that
    sends them; with it, they go out again in new deliveries."""
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=True)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, form = viewer.tenant, viewer.form
    since, until = str(form.get("since", "")).strip(), str(form.get("until", "")).strip()
    confirmed = form.get("confirm") == "yes"

    def act() -> tuple[dict[str, Any], int, bool]:
        sub = subscription_of(tenant, scope, scope_id, subscription_id)
        tenant.require_write()
        count, requested = tenant.system.subscriptions.recover(
            sub.id, since=since, until=until or None, dry_run=not confirmed
        )
        return view(sub), count, requested is not None and requested.waits

    page = f"{base_of(scope, scope_id)}/{subscription_id}"
    context = {"since": since, "until": until, "page": page, "csrf": viewer.session.csrf,
               "signed_in": tenant.described(), "invalid": {}}  # fmt: skip
    try:
        sub, count, waits = await state.backend.call(act)
    except InvalidInput as e:
        key = next((f for f in e.fields if f in ("since", "until")), "since")
        sub = await state.backend.call(lambda: view(tenant.subscription(subscription_id)))
        context |= {"sub": sub, "invalid": {key: in_fields(e)}}
        return Template("recover.html", context=context, status_code=400)
    except SigninWebhooksError as e:
        return failed(e)
    if not confirmed:
        return Template("recover.html", context={**context, "sub": sub, "count": count},
                        status_code=200)  # fmt: skip
    events = f"{count} event{'s' if count != 1 else ''}"
    message = f"Recovering: {events} of the window are sent again in new deliveries."
    if count == 0:
        message = "Nothing to recover: none of its events was recorded in that window."
    viewer.session.notice = {"message": message + (WAITS if waits else "")}
    return Redirect(f"{page}#recent", status_code=303)


ROUTES = [retry, recover]
