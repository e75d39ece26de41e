"""A subscription's recent deliveries: filtered by status and by the window they were sealed
in, a page at a time on the API's cursors. The list is part of the subscription's page, and
served alone too (`.../webhooks/{id}/deliveries`), for the page to refresh it in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.params import FromPath
from litestar.response import Redirect, Template

from signin_webhooks.cli.admin.guard import Viewer, admit, failed, scope_of, subscription_of
from signin_webhooks.cli.admin.pages import base_of
from signin_webhooks.cli.api.paging import decode_cursor, encode_cursor
from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.cli.deliveries import delivery_view
from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError
from signin_webhooks.eventstore.statuses import STATUSES

PAGE = 20
FILTERS = ("status", "since", "until")


def recent(
    tenant: Tenant, scope: str, scope_id: str, sub_id: str, query: Mapping[str, str]
) -> dict[str, Any]:
    """The page of the subscription's deliveries `query` asks for (status, since, until, after),
    as the template `_deliveries.html` shows it; a filter refused is named beside its input."""
    shown = {key: str(query.get(key, "")).strip() for key in FILTERS}
    after = str(query.get("after", "")).strip()
    here = f"{base_of(scope, scope_id)}/{sub_id}"
    context: dict[str, Any] = {
        "filter": shown, "statuses": STATUSES, "here": here, "deliveries": [], "next": None,
        "newest": None, "filter_invalid": {}, "delivery_base": base_of(scope, scope_id)
        .removesuffix("/webhooks") + "/deliveries",
    }  # fmt: skip
    given = {k: v for k, v in shown.items() if v}
    context["refresh"] = f"{here}/deliveries?{urlencode(given)}" if not after else None
    try:
        before = tuple(decode_cursor(after, 2)) if after else None
        found = tenant.system.deliveries.list(
            subscription_id=sub_id, limit=PAGE, before=before,  # type: ignore[arg-type]  # 2 parts
            status=given.get("status"), since=given.get("since"), until=given.get("until"),
        )  # fmt: skip
    except InvalidInput as e:
        key = e.fields[0] if e.fields and e.fields[0] in FILTERS else "after"
        context["filter_invalid"] = {key: in_fields(e)}
        return context
    context["deliveries"] = [delivery_view(d) for d in found]
    if len(found) == PAGE:
        cursor = encode_cursor(found[-1].sealed_at, found[-1].id)
        context["next"] = f"{here}?{urlencode({**given, 'after': cursor})}#recent"
    if after:
        context["newest"] = f"{here}?{urlencode(given)}#recent"
    return context


@get(
    [f"/{plural}/{{scope_id:str}}/webhooks/{{subscription_id:str}}/deliveries"
     for plural in ("contexts", "organizations")],
    include_in_schema=False,
)  # fmt: skip
async def recent_list(
    request: Request[Any, Any, Any],
    state: State,
    scope_id: FromPath[str],
    subscription_id: FromPath[str],
) -> Response[Any]:
    """The list alone, as the subscription's page shows it, for the page to refresh."""
    scope = scope_of(request)
    viewer = await admit(request, state, scope, scope_id, post=False)
    if isinstance(viewer, Redirect) and request.headers.get("hx-request"):
        # the session ended while the page refreshed: the page, not the list, goes to sign in
        return Response(None, status_code=204, headers={"HX-Redirect": "/signin"})
    if not isinstance(viewer, Viewer):
        return viewer
    tenant, query = viewer.tenant, dict(request.query_params)

    def read() -> dict[str, Any]:
        sub = subscription_of(tenant, scope, scope_id, subscription_id)
        return recent(tenant, scope, scope_id, sub.id, query)

    try:
        context = await state.backend.call(read)
    except SigninWebhooksError as e:
        return failed(e)
    status = 400 if context["filter_invalid"] else 200
    return Template("_deliveries.html", context=context, status_code=status)


ROUTES = [recent_list]
