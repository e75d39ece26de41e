"""The actions on one subscription, each a POST form with the session's CSRF token: enable
(resuming where it stopped, or from now), disable, rotate its secret, send a test delivery, and
delete, after a page that asks to confirm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.guard import SCOPES, Viewer, admit, failed, scope_of, subscription_of
from signin_webhooks.cli.admin.pages import base_of, page_of
from signin_webhooks.cli.admin.subscription_pages import subscription_page
from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError
from signin_webhooks.eventstore.subscriptions import Subscription


def _paths(action: str) -> list[str]:
    """The action's path under a Context's and under an Organization's Webhooks."""
    one = "{scope_id:str}/webhooks/{subscription_id:str}/" + action
    return [f"/{plural}/{one}" for plural in SCOPES]


async def _act(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: str,
    sub_id: str,
    act: Callable[[Tenant, Subscription, Any], dict[str, Any]],
) -> Response[Any]:
    """Admit the form, run `act` on the subscription on the system's thread, and show its
    notice on the subscription's page; a refusal of an input goes back beside it."""
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=True)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, form = viewer.tenant, viewer.form

    def run() -> dict[str, Any]:
        sub = subscription_of(tenant, scope, scope_id, sub_id)
        tenant.require_write()
        return act(tenant, sub, form)

    try:
        notice = await state.backend.call(run)
    except InvalidInput as e:
        key = {"event_type": "type"}.get(e.fields[0], e.fields[0]) if e.fields else "form"
        return await subscription_page(request, state, scope, scope_id, sub_id,
                                       errors={key: in_fields(e)}, status=400)  # fmt: skip
    except SigninWebhooksError as e:
        return failed(e)
    viewer.session.notice = notice
    return Redirect(notice.pop("to", f"{base_of(scope, scope_id)}/{sub_id}"), status_code=303)


def _enable(tenant: Tenant, sub: Subscription, form: Any) -> dict[str, Any]:
    from_now = form.get("from") == "now"
    tenant.system.subscriptions.enable(sub.id, from_now=from_now)
    how = "from now on, skipping what was published while disabled" if from_now else (
        "resuming where it stopped"
    )  # fmt: skip
    return {"message": f"Enabled, {how}."}


def _disable(tenant: Tenant, sub: Subscription, form: Any) -> dict[str, Any]:
    tenant.system.subscriptions.disable(sub.id)
    return {"message": "Disabled: nothing is sent until it is enabled; what is published waits."}


def _rotate(tenant: Tenant, sub: Subscription, form: Any) -> dict[str, Any]:
    grace = str(form.get("grace", "")).strip() or "24h"
    saved = tenant.system.subscriptions.rotate_secret(sub.id, grace=grace)
    return {"message": f"Secret rotated; the old one stays valid for {grace}.",
            "secret": saved.secret}  # fmt: skip


def _test(tenant: Tenant, sub: Subscription, form: Any) -> dict[str, Any]:
    event_type = str(form.get("type", "")).strip() or None
    delivery, attempt = tenant.system.subscriptions.test(sub.id, event_type=event_type)
    base = base_of(sub.fields.scope, sub.fields.scope_id).removesuffix("/webhooks")
    outcome = {
        "delivery": delivery.id,
        "href": f"{base}/deliveries/{delivery.id}",
        "status": delivery.status,
        "response_status": attempt.status,
        "error_kind": attempt.error_kind,
        "error": attempt.error,
    }
    return {"message": "Test delivery sent.", "test": outcome}


def _delete(tenant: Tenant, sub: Subscription, form: Any) -> dict[str, Any]:
    tenant.system.subscriptions.delete(sub.id)
    return {"message": f"Subscription {sub.fields.name!r} deleted; what it had pending is"
            " cancelled.", "to": base_of(sub.fields.scope, sub.fields.scope_id)}  # fmt: skip


def _route(name: str, act: Callable[[Tenant, Subscription, Any], dict[str, Any]]) -> Any:
    @post(_paths(name), include_in_schema=False, status_code=303, name=f"admin-{name}")
    async def handler(
        request: Request[Any, Any, Any],
        state: State,
        scope_id: FromPath[str],
        subscription_id: FromPath[str],
    ) -> Response[Any]:
        return await _act(request, state, scope_id, subscription_id, act)

    return handler


@get(_paths("delete"), include_in_schema=False)
async def confirm_delete(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    """The step before deleting: what goes, and a button that deletes."""
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=False, writes=True)
    if not isinstance(viewer, Viewer):
        return viewer
    try:
        sub = await state.backend.call(subscription_of, viewer.tenant, scope, scope_id,
                                       subscription_id)  # fmt: skip
    except SigninWebhooksError as e:
        return failed(e)
    context = {"sub": view(sub), "page": page_of(sub), "csrf": viewer.session.csrf,
               "signed_in": viewer.tenant.described()}  # fmt: skip
    return Template("delete.html", context=context)


ROUTES = [
    confirm_delete,
    _route("enable", _enable),
    _route("disable", _disable),
    _route("rotate-secret", _rotate),
    _route("test", _test),
    _route("delete", _delete),
]
