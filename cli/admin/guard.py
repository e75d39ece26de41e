"""What every admin form passes before it acts: a session, a scope the token may see, the
session's CSRF token, and for one subscription, that it is this page's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, Response
from litestar.datastructures import State
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.pages import _not_found, _refused, _viewer
from signin_webhooks.cli.admin.sessions import Session, csrf_matches
from signin_webhooks.cli.api.problems import in_fields, status_of
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.eventstore import NotFound, SigninWebhooksError
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from signin_webhooks.eventstore.errors import Forbidden
from signin_webhooks.eventstore.subscriptions import Subscription


@dataclass
class Viewer:
    tenant: Tenant
    session: Session
    form: Any  # the posted form (a multi-dict), or None for a page


async def admit(
    request: Request[Any, Any, Any],
    state: State,
    scope: str,
    scope_id: str,
    *,
    post: bool,
    writes: bool = False,
) -> Viewer | Response[Any]:
    """The viewer of a page or form of (scope, scope_id), or the answer that turns them away:
    to sign in, 404 for another tenant's scope, 403 for a form without its CSRF token, and
    for a page that only writes (a form to fill in), 403 for a read-only token."""
    viewer = await _viewer(request, state)
    if viewer is None:
        return Redirect("/signin", status_code=303)
    tenant, session = viewer
    if not tenant.in_scope(scope, scope_id):
        return _not_found(f"no {scope} {scope_id!r} here; sign in with a token of it")
    form = await request.form() if post else None
    if form is not None and not csrf_matches(session, form.get("csrf")):
        return _refused()
    if writes:
        try:
            tenant.require_write()
        except Forbidden as e:
            return failed(e)
    return Viewer(tenant, session, form)


SCOPES = {"contexts": "context", "organizations": "organization"}


def scope_of(request: Request[Any, Any, Any]) -> str:
    """The scope an admin page's path names: context or organization."""
    return SCOPES[request.url.path.split("/")[1]]


def subscription_of(tenant: Tenant, scope: str, scope_id: str, sub_id: str) -> Subscription:
    """The subscription of this page's scope, not deleted; another scope's, or another
    tenant's, is not here."""
    sub = tenant.subscription(sub_id, deleted_ok=True)
    if (sub.fields.scope, sub.fields.scope_id) != (scope, scope_id):
        raise NotFound(f"no subscription {sub_id!r} here")
    return tenant.subscription(sub_id)  # a deleted one: not found, saying when it went


def delivery_of(
    tenant: Tenant, scope: str, scope_id: str, delivery_id: str
) -> tuple[Delivery, list[AttemptRecorded], Subscription]:
    """A delivery of a subscription of this page's scope, its attempts and its subscription
    (deleted or not); another scope's, or another tenant's, is not here."""
    delivery, attempts = tenant.delivery(delivery_id)
    sub = tenant.subscription(delivery.subscription_id, deleted_ok=True)
    if (sub.fields.scope, sub.fields.scope_id) != (scope, scope_id):
        raise NotFound(f"no delivery {delivery_id!r} here")
    return delivery, attempts, sub


def failed(e: SigninWebhooksError) -> Template:
    """A refusal the form cannot put beside an input: a read-only token, a deleted subscription."""
    if isinstance(e, NotFound):
        return _not_found(in_fields(e))
    return Template("error.html", context={"message": in_fields(e)}, status_code=status_of(e))
