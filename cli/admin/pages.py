"""The admin pages: sign in and out, and a Context's or an Organization's Webhooks list."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.sessions import (
    COOKIE,
    LIFETIME,
    Session,
    Sessions,
    csrf_matches,
)
from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.errors import Unauthorized
from signin_webhooks.eventstore.subscriptions import Subscription

_PLURAL = {"context": "contexts", "organization": "organizations"}
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _sessions(state: State) -> Sessions:
    sessions = state.sessions
    assert isinstance(sessions, Sessions), "the app keeps its sessions in its state"
    return sessions


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def _landing(tenant: Tenant) -> str:
    t = tenant.token
    if t.scope == "context":
        return f"/contexts/{t.context_id}/webhooks"
    if t.scope == "organization":
        return f"/organizations/{t.organization_id}/webhooks"
    return "/webhooks"


async def _viewer(request: Request[Any, Any, Any], state: State) -> tuple[Tenant, Any] | None:
    session = _sessions(state).get(request.cookies.get(COOKIE))
    if session is None:
        return None
    backend = state.backend
    try:
        token = await backend.call(backend.system.tokens.authenticate, session.secret)
    except Unauthorized:
        _sessions(state).close(request.cookies.get(COOKIE))
        return None
    return Tenant(backend.system, token), session


# Before a session there is no session to keep a CSRF token in: the sign-in form's is also
# set as a cookie, and the two must match (a cross-site page can read neither).
PRESESSION = "signin_webhooks_csrf"


def _signin_form(request: Request[Any, Any, Any], error: str | None, status: int) -> Template:
    csrf = secrets.token_urlsafe(32)
    cookie = Cookie(key=PRESESSION, value=csrf, httponly=True, samesite="strict",
                    secure=_secure(request), path="/signin")  # fmt: skip
    context = {"error": error, "csrf": csrf}
    return Template("signin.html", context=context, status_code=status, cookies=[cookie])


@get("/signin", include_in_schema=False)
async def signin_page(request: Request[Any, Any, Any]) -> Template:
    return _signin_form(request, None, 200)


@post("/signin", include_in_schema=False, status_code=303)
async def signin(request: Request[Any, Any, Any], state: State, data: Form) -> Response[Any]:
    backend = state.backend
    expected, given = request.cookies.get(PRESESSION, ""), data.get("csrf", "")
    if not (expected and hmac.compare_digest(expected.encode(), given.encode())):
        return _refused()
    try:
        token = await backend.call(
            backend.system.tokens.authenticate, data.get("token", "").strip()
        )
    except Unauthorized as e:
        return _signin_form(request, in_fields(e), 401)
    key, _ = _sessions(state).open(data["token"].strip())
    cookie = Cookie(key=COOKIE, value=key, httponly=True, samesite="strict",
                    secure=_secure(request), path="/", max_age=int(LIFETIME))  # fmt: skip
    return Redirect(_landing(Tenant(backend.system, token)), status_code=303, cookies=[cookie])


@post("/signout", include_in_schema=False, status_code=303)
async def signout(request: Request[Any, Any, Any], state: State, data: Form) -> Response[Any]:
    viewer = await _viewer(request, state)
    if viewer is not None and not csrf_matches(viewer[1], data.get("csrf")):
        return _refused()
    _sessions(state).close(request.cookies.get(COOKIE))
    answer = Redirect("/signin", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


def _refused() -> Template:
    return Template(
        "error.html",
        context={
            "message": "this form came without its CSRF token; reload the page and send it again"
        },
        status_code=403,
    )


def take_notice(session: Session) -> dict[str, Any] | None:
    """What this page shows once: after it, the notice (a new secret, say) is gone."""
    notice, session.notice = session.notice, None
    return notice


def base_of(scope: str, scope_id: str) -> str:
    """The Webhooks route of a Context or an Organization."""
    return f"/{_PLURAL[scope]}/{quote(scope_id, safe='')}/webhooks"


def page_of(sub: Subscription) -> str:
    """A subscription's page, under its own scope's Webhooks."""
    return f"{base_of(sub.fields.scope, sub.fields.scope_id)}/{sub.id}"


def listed_under(tenant: Tenant, scope: str, scope_id: str, page: str, page_id: str) -> bool:
    """Whether a subscription of (scope, scope_id) is listed on the Webhooks of (page, page_id):
    its own, and on an Organization's, those of the contexts part of that organization."""
    if (scope, scope_id) == (page, page_id):
        return True
    if page != "organization" or scope != "context":
        return False
    return tenant.system.tokens.organization_of(scope_id) == page_id


def _not_found(what: str) -> Template:
    return Template("error.html", context={"message": what}, status_code=404)


async def _webhooks(
    request: Request[Any, Any, Any], state: State, scope: str, scope_id: str
) -> Response[Any]:
    viewer = await _viewer(request, state)
    if viewer is None:
        return Redirect("/signin", status_code=303)
    tenant, session = viewer
    if not tenant.in_scope(scope, scope_id):
        return _not_found(f"no {scope} {scope_id!r} here; sign in with a token of it")

    def read() -> list[dict[str, Any]]:
        health = {row["subscription_id"]: row for row in tenant.system.status()}
        rows = []
        for sub in tenant.subscriptions():
            f = sub.fields
            if not listed_under(tenant, f.scope, f.scope_id, scope, scope_id):
                continue
            rows.append({**view(sub), "status": health.get(sub.id, {}), "page": page_of(sub),
                         "flush": format_duration(f.flush_interval)})  # fmt: skip
        return rows

    rows = await state.backend.call(read)
    return Template(
        "webhooks.html",
        context={
            "scope": scope,
            "scope_id": scope_id,
            "base": base_of(scope, scope_id),
            "rows": rows,
            "notice": take_notice(session),
            "csrf": session.csrf,
            "signed_in": tenant.described(),
            "can_write": not tenant.token.read_only,
        },
    )


@get("/contexts/{context_id:str}/webhooks", include_in_schema=False)
async def context_webhooks(
    request: Request[Any, Any, Any], state: State, context_id: FromPath[str]
) -> Response[Any]:
    return await _webhooks(request, state, "context", context_id)


@get("/organizations/{organization_id:str}/webhooks", include_in_schema=False)
async def organization_webhooks(
    request: Request[Any, Any, Any], state: State, organization_id: FromPath[str]
) -> Response[Any]:
    return await _webhooks(request, state, "organization", organization_id)


@get("/webhooks", include_in_schema=False)
async def every_scope(request: Request[Any, Any, Any], state: State) -> Response[Any]:
    """An admin's landing: every Context and Organization that has subscriptions."""
    viewer = await _viewer(request, state)
    if viewer is None:
        return Redirect("/signin", status_code=303)
    tenant, session = viewer
    subs = await state.backend.call(tenant.subscriptions)
    scopes = sorted({(s.fields.scope, s.fields.scope_id) for s in subs})
    return Template("scopes.html", context={"scopes": scopes, "csrf": session.csrf,
                                            "signed_in": tenant.described()})  # fmt: skip


ROUTES = [every_scope, signin_page, signin, signout, context_webhooks, organization_webhooks]
