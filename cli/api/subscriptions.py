"""`/subscriptions`: list, create, show, update, delete, and the actions on one subscription."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

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
    RecoverInput,
    Requested,
    SubscriptionChange,
    SubscriptionInput,
    SubscriptionOut,
    TestInput,
    TestOutcome,
    attempt_out,
    delivery_out,
    given,
    subscription_out,
)
from signin_webhooks.cli.api.tenant import Tenant

ID = Annotated[str, PathParameter(description="The subscription's id (sub_...).", max_length=200)]


@get("/subscriptions", summary="List subscriptions", responses=problems(400, 401))
async def list_subscriptions(
    state: State,
    tenant: NamedDependency[Tenant],
    include_deleted: Annotated[
        bool, QueryParameter(name="all", description="Include deleted subscriptions.")
    ] = False,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
) -> Page[SubscriptionOut]:
    start = decode_cursor(after, 1)[0] if after else ""
    found = await state.backend.call(tenant.subscriptions, include_deleted=include_deleted)
    page = [s for s in found if s.id > start][:limit]  # ordered by id, which is time-sortable
    nxt = encode_cursor(page[-1].id) if len(page) == limit else None
    return Page([subscription_out(s) for s in page], nxt)


@post(
    "/subscriptions",
    summary="Create a subscription",
    description="Its secret is in the answer, this once.",
    status_code=201,
    responses=problems(400, 401, 403, 409, 413),
)
async def create_subscription(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    data: JSONBody[SubscriptionInput],
    idempotency_key: IdempotencyKey = None,
) -> Response[SubscriptionOut]:
    tenant.require_write()
    values = given(data)
    system = state.backend.system

    def act() -> Reply:
        _check_scope(tenant, values)
        saved = system.subscriptions.create(
            name=values.pop("name"), url=values.pop("url"), enabled=data.enabled, **values
        )
        return reply(201, subscription_out(
            saved.subscription, secret=saved.secret, warnings=saved.warnings
        ))  # fmt: skip

    return await answer(request, state.backend, tenant, act, await request.body())


def _check_scope(tenant: NamedDependency[Tenant], values: dict[str, Any]) -> None:
    if values.get("context") is not None and values.get("organization") is not None:
        return  # the system refuses two scopes, in the command line's words
    for scope in ("context", "organization"):
        if values.get(scope) is not None:
            tenant.require_scope(scope, values[scope])


@get(
    "/subscriptions/{subscription_id:str}",
    summary="Show a subscription",
    responses=problems(401, 404),
)
async def show_subscription(
    state: State, tenant: NamedDependency[Tenant], subscription_id: ID
) -> SubscriptionOut:
    return subscription_out(await state.backend.call(tenant.subscription, subscription_id))


@patch(
    "/subscriptions/{subscription_id:str}",
    summary="Change a subscription",
    description="The fields given change; the rest keep their values.",
    responses=problems(400, 401, 403, 404, 413),
)
async def update_subscription(
    state: State,
    tenant: NamedDependency[Tenant],
    subscription_id: ID,
    data: JSONBody[SubscriptionChange],
) -> SubscriptionOut:
    tenant.require_write()
    values = given(data)

    def act() -> SubscriptionOut:
        tenant.subscription(subscription_id)
        _check_scope(tenant, values)
        saved = tenant.system.subscriptions.update(subscription_id, **values)
        return subscription_out(saved.subscription, warnings=saved.warnings)

    return await state.backend.call(act)


@delete(
    "/subscriptions/{subscription_id:str}",
    summary="Delete a subscription",
    description="Cancels what it has pending; it stays listed with `all=true`.",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def delete_subscription(
    state: State, tenant: NamedDependency[Tenant], subscription_id: ID
) -> SubscriptionOut:
    tenant.require_write()

    def act() -> SubscriptionOut:
        tenant.subscription(subscription_id)
        return subscription_out(tenant.system.subscriptions.delete(subscription_id))

    return await state.backend.call(act)


@post(
    "/subscriptions/{subscription_id:str}/enable",
    summary="Enable a subscription",
    description="Resumes where it stopped, or with `from_now`, skips what was published"
    " while it was disabled.",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def enable_subscription(
    state: State,
    tenant: NamedDependency[Tenant],
    subscription_id: ID,
    from_now: FromQuery[bool] = False,
) -> SubscriptionOut:
    tenant.require_write()

    def act() -> SubscriptionOut:
        tenant.subscription(subscription_id)
        return subscription_out(
            tenant.system.subscriptions.enable(subscription_id, from_now=from_now)
        )

    return await state.backend.call(act)


@post(
    "/subscriptions/{subscription_id:str}/disable",
    summary="Disable a subscription",
    description="Stops delivery without deleting; what is published meanwhile waits.",
    status_code=200,
    responses=problems(401, 403, 404),
)
async def disable_subscription(
    state: State, tenant: NamedDependency[Tenant], subscription_id: ID
) -> SubscriptionOut:
    tenant.require_write()

    def act() -> SubscriptionOut:
        tenant.subscription(subscription_id)
        return subscription_out(tenant.system.subscriptions.disable(subscription_id))

    return await state.backend.call(act)


@post(
    "/subscriptions/{subscription_id:str}/rotate-secret",
    summary="Rotate the signing secret",
    description="The new secret is in the answer, this once; the old one stays valid, and is"
    " signed with, for `grace`.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def rotate_secret(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    subscription_id: ID,
    grace: Annotated[
        str, QueryParameter(description="How long the old secret stays valid.")
    ] = "24h",
    idempotency_key: IdempotencyKey = None,
) -> Response[SubscriptionOut]:
    tenant.require_write()

    def act() -> Reply:
        tenant.subscription(subscription_id)
        saved = tenant.system.subscriptions.rotate_secret(subscription_id, grace=grace)
        return reply(200, subscription_out(saved.subscription, secret=saved.secret))

    return await answer(request, state.backend, tenant, act)


@post(
    "/subscriptions/{subscription_id:str}/test",
    summary="Send a test delivery",
    description="One synthetic event, sent now from this process, outside the batches; the"
    " answer holds the outcome.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def test_subscription(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    subscription_id: ID,
    data: JSONBody[TestInput | None] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[TestOutcome]:
    tenant.require_write()
    event_type = data.type if data else None

    def act() -> Reply:
        tenant.subscription(subscription_id)
        delivery, attempt = tenant.system.subscriptions.test(subscription_id, event_type=event_type)
        return reply(
            200, TestOutcome(delivery=delivery_out(delivery), attempt=attempt_out(attempt))
        )

    return await answer(request, state.backend, tenant, act, await request.body())


@post(
    "/subscriptions/{subscription_id:str}/recover",
    summary="Re-send a window of events",
    description="The subscription's events recorded in [since, until) go out again in new"
    " batches; `dry_run` only counts them.",
    status_code=200,
    responses=problems(400, 401, 403, 404, 409),
)
async def recover(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    subscription_id: ID,
    data: JSONBody[RecoverInput],
    idempotency_key: IdempotencyKey = None,
) -> Response[Requested]:
    if not data.dry_run:
        tenant.require_write()

    def act() -> Reply:
        tenant.subscription(subscription_id)
        count, requested = tenant.system.subscriptions.recover(
            subscription_id, since=data.since, until=data.until, dry_run=data.dry_run
        )
        waits = requested.waits if requested else False
        return reply(200, Requested(requested=requested is not None, waits=waits, events=count))

    return await answer(request, state.backend, tenant, act, await request.body())


ROUTES = [
    list_subscriptions,
    create_subscription,
    show_subscription,
    update_subscription,
    delete_subscription,
    enable_subscription,
    disable_subscription,
    rotate_secret,
    test_subscription,
    recover,
]
