"""`/catalogue`: the Sign In event types, grouped as the product page groups them, each with
when it is emitted and the fields it requires. The catalogue is no secret: it shows signed out."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.datastructures import State
from litestar.response import Template

from signin_webhooks.cli.admin.forms import catalogue_groups
from signin_webhooks.cli.admin.pages import _viewer
from signin_webhooks.eventstore import CATALOGUE


@get("/catalogue", include_in_schema=False)
async def catalogue_page(request: Request[Any, Any, Any], state: State) -> Template:
    viewer = await _viewer(request, state)
    groups = [
        {**group, "types": [(t, when, CATALOGUE[t][1]) for t, when in group["types"]]}
        for group in catalogue_groups()
    ]
    context: dict[str, Any] = {"groups": groups}
    if viewer is not None:
        tenant, session = viewer
        context |= {"csrf": session.csrf, "signed_in": tenant.described()}
    return Template("catalogue.html", context=context)


ROUTES = [catalogue_page]
