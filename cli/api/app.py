"""The ASGI app `serve` runs: the API under /api/v1, its schema and docs, health checks.

Other faces of the same system (the admin pages, metrics) join it as more route handlers:
`create_app(system, routes=[...])`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib.metadata import version
from typing import Any

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.types import ControllerRouterHandler

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.api import (
    deliveries,
    events,
    health,
    metrics,
    operations,
    subscriptions,
)
from signin_webhooks.cli.api.auth import SECURITY, provide_tenant
from signin_webhooks.cli.api.backend import Backend
from signin_webhooks.cli.api.docs import docs, openapi
from signin_webhooks.cli.api.problems import EXCEPTION_HANDLERS, PREFIX
from signin_webhooks.cli.api.publisher import Publisher

DESCRIPTION = (
    "Publish Sign In events, manage subscriptions and inspect deliveries. Every request under"
    f" {PREFIX} carries `Authorization: Bearer <token>` (`signin-webhooks tokens create`)."
    " Errors are RFC 9457 problem details whose `detail` is the command line's message, naming"
    " a JSON field where the command line names an option, and a request where it names a command."
)


def api_router() -> Router:
    """Every resource under /api/v1, each handler given the calling token's Tenant."""
    return Router(
        PREFIX,
        route_handlers=[
            events.publish,
            events.replay,
            *subscriptions.ROUTES,
            *deliveries.ROUTES,
            *operations.ROUTES,
        ],
        dependencies={"tenant": Provide(provide_tenant)},
        security=SECURITY,
    )


def create_app(
    system: WebhookSystem,
    routes: Sequence[ControllerRouterHandler] = (),
    state: Mapping[str, Any] | None = None,
    **options: Any,
) -> Litestar:
    """The app over a started system. `routes` and `state` join the API's (the admin pages
    bring theirs); `options` go to Litestar (templates, middleware...)."""
    backend = Backend(system)
    app = Litestar(
        route_handlers=[api_router(), *health.ROUTES, *metrics.ROUTES, docs, openapi, *routes],
        state=State({**(state or {}), "backend": backend, "publisher": Publisher(backend)}),
        exception_handlers=EXCEPTION_HANDLERS,
        request_max_body_size=system.settings.show().max_request_bytes,
        openapi_config=OpenAPIConfig(
            title="signin-webhooks",
            version=version("signin-webhooks"),
            description=DESCRIPTION,
            path="/schema",
            render_plugins=[JsonRenderPlugin()],
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http", scheme="bearer", description="A token of `tokens create`."
                    )
                }
            ),
        ),
        on_shutdown=[backend.close],
        debug=False,
        logging_config=None,
        **options,
    )
    publish = app.openapi_schema.paths[f"{PREFIX}/events"].post  # type: ignore[index]  # it is there
    assert publish is not None, "the events route takes POST"
    publish.request_body = events.PUBLISH_BODY  # the body is read as it comes, not decoded
    return app
