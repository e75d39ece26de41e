"""`/deliveries`: what was sent, when, and what came back; retry."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, PathParameter, QueryParameter

from signin_webhooks.cli.api.events import IdempotencyKey
from signin_webhooks.cli.api.idempotency import Reply, answer, reply
from signin_webhooks.cli.api.paging import (
    DEFAULT_LIMIT,
    After,
    Limit,
    Page,
    decode_cursor,
    encode_cursor,
)
from signin_webhooks.cli.api.problems import problems
from signin_webhooks.cli.api.schemas import (
    DeliveryDetail,
    DeliveryOut,
    Requested,
    attempt_out,
    delivery_out,
)
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.cli.deliveries import delivery_view
from signin_webhooks.eventstore import StoreError

ID = Annotated[str, PathParameter(description="The delivery's id, its webhook-id (dlv_...).")]


@get(
    "/deliveries",
    summary="List deliveries",
    description="Newest first. The window (`since`, `until`) is on the time each was sealed.",
    responses=problems(400, 401, 404),
)
async def list_deliveries(
    state: State,
    tenant: NamedDependency[Tenant],
    subscription: Annotated[
        str | None, QueryParameter(description="Only this subscription's.")
    ] = None,
    status: Annotated[
        str | None, QueryParameter(description="pending, retrying, succeeded, failed or cancelled.")
    ] = None,
    since: Annotated[
        str | None, QueryParameter(description="Sealed at or after (RFC 3339).")
    ] = None,
    until: Annotated[str | None, QueryParameter(description="Sealed before (RFC 3339).")] = None,
    event_id: Annotated[
        str | None, QueryParameter(description="Only those holding this event.")
    ] = None,
    webhook_id: Annotated[
        str | None,
        QueryParameter(name="webhook-id", description="The delivery with this webhook-id."),
    ] = None,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
) -> Page[DeliveryOut]:
    before = tuple(decode_cursor(after, 2)) if after else None

    def read() -> Page[DeliveryOut]:
        if subscription is not None:
            tenant.subscription(subscription, deleted_ok=True)  # another tenant's: 404
        if webhook_id is not None:
            tenant.delivery(webhook_id)
        found = tenant.system.deliveries.list(
            subscription_id=subscription, status=status, limit=limit,
            subscription_ids=tenant.visible_subscriptions(), since=since, until=until,
            event_id=event_id, delivery_id=webhook_id, before=before,  # type: ignore[arg-type]  # checked
        )  # fmt: skip
        nxt = encode_cursor(found[-1].sealed_at, found[-1].id) if len(found) == limit else None
        return Page([delivery_out(d) for d in found], nxt)

    return await state.backend.call(read)


@get(
    "/deliveries/{delivery_id:str}",
    summary="Show a delivery",
    description="The exact body sent and every attempt: request headers (redacted), response"
    " status, headers and body.",
    responses=problems(401, 404),
)
async def show_delivery(
    state: State, tenant: NamedDependency[Tenant], delivery_id: ID
) -> DeliveryDetail:
    def read() -> DeliveryDetail:
        delivery, attempts = tenant.delivery(delivery_id)
        try:
            body: str | None = tenant.system.deliveries.body(delivery).decode()
        except StoreError:
            body = None  # the log no longer holds its events
        return DeliveryDetail(
            **delivery_view(delivery), body=body, attempts=[attempt_out(a) for a in attempts]
        )

    return await state.backend.call(read)


@post(
    "/deliveries/{delivery_id:str}/retry",
    summary="Retry a delivery",
    description="Sent again under the same webhook-id, in a new series of attempts; `force`"
    " also for one pending or already succeeded.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def retry_delivery(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    delivery_id: ID,
    force: FromQuery[bool] = False,
    idempotency_key: IdempotencyKey = None,
) -> Response[Requested]:
    tenant.require_write()

    def act() -> Reply:
        tenant.delivery(delivery_id)
        requested = tenant.system.deliveries.retry(delivery_id, force=force)
        return reply(200, Requested(requested=True, waits=requested.waits))

    return await answer(request, state.backend, tenant, act)


ROUTES = [list_deliveries, show_delivery, retry_delivery]
