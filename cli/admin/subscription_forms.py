"""Create a subscription (`.../webhooks/new`) and edit one (its page posts to itself): every
field, refused in the command line's words beside the input at fault, the values entered kept."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.forms import (
    catalogue_groups,
    changed,
    errors_of,
    fields_of,
    form_of,
    submitted,
)
from signin_webhooks.cli.admin.guard import Viewer, admit, failed, subscription_of
from signin_webhooks.cli.admin.pages import base_of, page_of
from signin_webhooks.cli.admin.subscription_pages import subscription_page
from signin_webhooks.cli.api.problems import in_fields, status_of
from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError


def _new_page(
    viewer: Viewer, scope: str, scope_id: str, form: dict[str, Any], errors: dict[str, str],
    status: int = 200,
) -> Template:  # fmt: skip
    context = {"scope": scope, "scope_id": scope_id, "base": base_of(scope, scope_id),
               "form": form, "invalid": errors, "groups": catalogue_groups(),
               "csrf": viewer.session.csrf, "signed_in": viewer.tenant.described()}  # fmt: skip
    return Template("new.html", context=context, status_code=status)


async def _new(
    request: Request[Any, Any, Any], state: State, scope: str, scope_id: str
) -> Response[Any]:
    viewer = await admit(request, state, scope, scope_id, post=False, writes=True)
    if not isinstance(viewer, Viewer):
        return viewer
    return _new_page(viewer, scope, scope_id, form_of(None), {})


async def _create(
    request: Request[Any, Any, Any], state: State, scope: str, scope_id: str
) -> Response[Any]:
    viewer = await admit(request, state, scope, scope_id, post=True)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, values = viewer.tenant, submitted(viewer.form)
    fields = fields_of(values)

    def act() -> Any:
        tenant.require_write()
        given: dict[str, Any] = {**fields, scope: scope_id, "enabled": values["enabled"]}
        for required in ("name", "url"):  # left empty: "name is required", as the CLI says
            given[required] = given[required] or None
        return tenant.system.subscriptions.create(**given)

    try:
        saved = await state.backend.call(act)
    except InvalidInput as e:
        return _new_page(viewer, scope, scope_id, values, errors_of(e, fields), 400)
    except SigninWebhooksError as e:
        return _new_page(viewer, scope, scope_id, values, {"form": in_fields(e)}, status_of(e))
    viewer.session.notice = {
        "message": f"Subscription {saved.subscription.fields.name!r} created.",
        "secret": saved.secret,
        "warnings": saved.warnings,
    }
    return Redirect(page_of(saved.subscription), status_code=303)


async def _edit(
    request: Request[Any, Any, Any], state: State, scope: str, scope_id: str, sub_id: str
) -> Response[Any]:
    viewer = await admit(request, state, scope, scope_id, post=True)
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, values = viewer.tenant, submitted(viewer.form)
    system = tenant.system

    def act() -> Any:
        sub = subscription_of(tenant, scope, scope_id, sub_id)
        tenant.require_write()
        current = system.subscriptions.reveal(sub).fields.headers
        fields = fields_of(values, current)
        try:
            return system.subscriptions.update(sub.id, **changed(fields, form_of(sub)))
        except InvalidInput as e:
            return errors_of(e, fields)

    try:
        saved = await state.backend.call(act)
    except SigninWebhooksError as e:
        return failed(e)
    if isinstance(saved, dict):
        return await subscription_page(request, state, scope, scope_id, sub_id,
                                       form=values, errors=saved, status=400)  # fmt: skip
    viewer.session.notice = {"message": "Settings saved.", "warnings": saved.warnings}
    return Redirect(page_of(saved.subscription), status_code=303)


@get("/contexts/{context_id:str}/webhooks/new", include_in_schema=False)
async def context_new(
    request: Request[Any, Any, Any], state: State, context_id: FromPath[str]
) -> Response[Any]:
    return await _new(request, state, "context", context_id)


@get("/organizations/{organization_id:str}/webhooks/new", include_in_schema=False)
async def organization_new(
    request: Request[Any, Any, Any], state: State, organization_id: FromPath[str]
) -> Response[Any]:
    return await _new(request, state, "organization", organization_id)


@post("/contexts/{context_id:str}/webhooks/new", include_in_schema=False, status_code=303)
async def context_create(
    request: Request[Any, Any, Any], state: State, context_id: FromPath[str]
) -> Response[Any]:
    return await _create(request, state, "context", context_id)


@post("/organizations/{organization_id:str}/webhooks/new", include_in_schema=False, status_code=303)
async def organization_create(
    request: Request[Any, Any, Any], state: State, organization_id: FromPath[str]
) -> Response[Any]:
    return await _create(request, state, "organization", organization_id)


@post("/contexts/{context_id:str}/webhooks/{subscription_id:str}", include_in_schema=False,
      status_code=303)  # fmt: skip
async def context_edit(
    request: Request[Any, Any, Any],
    state: State,
    context_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    return await _edit(request, state, "context", context_id, subscription_id)


@post("/organizations/{organization_id:str}/webhooks/{subscription_id:str}",
      include_in_schema=False, status_code=303)  # fmt: skip
async def organization_edit(
    request: Request[Any, Any, Any],
    state: State,
    organization_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    return await _edit(request, state, "organization", organization_id, subscription_id)


ROUTES = [
    context_new,
    organization_new,
    context_create,
    organization_create,
    context_edit,
    organization_edit,
]
