"""`/healthz` and `/readyz`: for a load balancer or an orchestrator; they need no token."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec

from signin_webhooks.cli.api.schemas import Health
from signin_webhooks.eventstore import SigninWebhooksError


@get("/healthz", summary="The process is up", tags=["health"])
async def healthz() -> Health:
    return Health("ok")


@get(
    "/readyz",
    summary="Ready to serve",
    description="The database answers and, where this process delivers, delivery is running;"
    " 503 otherwise.",
    tags=["health"],
    responses={503: ResponseSpec(Health, description="Not ready", generate_examples=False)},
)
async def readyz(state: State) -> Response[Health]:
    system = state.backend.system
    try:
        await state.backend.call(system.settings.show)
    except SigninWebhooksError as e:
        return Response(Health("unavailable", str(e)), status_code=503)
    if system.deliver and not system.delivering:
        return Response(Health("unavailable", "delivery is not running"), status_code=503)
    return Response(Health("ok"))


ROUTES = [healthz, readyz]
