"""`/metrics`: Prometheus' text format, for a scraper; it needs no token and names no secret."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from signin_webhooks.actors import metrics


@get("/metrics", summary="Prometheus metrics", tags=["health"], include_in_schema=False)
async def scrape(state: State) -> Response[bytes]:
    system = state.backend.system
    registry = metrics.registry_for(system.path, system.clock)
    body = await state.backend.call(metrics.exposition, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


ROUTES = [scrape]
