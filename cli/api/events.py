"""`/events`: publish as `publish` does, replay as `replay` does."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.params import FromQuery, HeaderParameter, QueryParameter

from signin_webhooks.cli.api.idempotency import HEADER, Reply, answer, reply
from signin_webhooks.cli.api.paging import (
    DEFAULT_LIMIT,
    After,
    Limit,
    Page,
    decode_sequence,
    encode_cursor,
)
from signin_webhooks.cli.api.problems import problems
from signin_webhooks.cli.api.schemas import PublishReport
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.eventstore import AppendResult

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        description="Retrying with the same key gets the first answer instead of a second effect.",
        max_length=255,
        required=False,
    ),
]


@post(
    "/events",
    summary="Publish events",
    description="One JSON object, a JSON array of objects, or NDJSON: all are appended or none,"
    " as `signin-webhooks publish` does. A token publishes only events of its own scope.",
    status_code=200,
    responses=problems(400, 401, 403, 409, 413),
)
async def publish(
    request: Request[Any, Any, Any],
    state: State,
    tenant: NamedDependency[Tenant],
    idempotency_key: IdempotencyKey = None,
) -> Response[PublishReport]:
    tenant.require_write()
    system = state.backend.system
    data = await request.body()  # bounded by max_request_bytes, read as it streams in

    if idempotency_key is None:
        result = await state.publisher.publish(data, tenant.check_published)
        return Response(_report(result))

    def act() -> Reply:
        return reply(200, _report(system.publish(data, check=tenant.check_published)))

    return await answer(request, state.backend, tenant, act, data)


def _report(result: AppendResult) -> PublishReport:
    return PublishReport(
        result.appended, result.duplicates, result.first_sequence, result.last_sequence
    )


PUBLISH_BODY = RequestBody(
    required=True,
    description="One event object, a JSON array of them, or NDJSON (one object a line).",
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                one_of=[
                    Schema(type=OpenAPIType.OBJECT),
                    Schema(type=OpenAPIType.ARRAY, items=Schema(type=OpenAPIType.OBJECT)),
                ]
            )
        ),
        "application/x-ndjson": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING)),
    },
)


class _EventPage(Page[dict[str, Any]]):
    """Events as delivered: the published object with `sequence` and `recorded_at` added."""


@get(
    "/events",
    summary="Replay the log",
    description="The Sign In events of the log, oldest first, as `signin-webhooks replay` prints"
    " them, limited to the token's scope.",
    responses={
        200: ResponseSpec(_EventPage, description="A page of events", generate_examples=False),
        **problems(400, 401, 403),
    },
)
async def replay(
    state: State,
    tenant: NamedDependency[Tenant],
    types: Annotated[
        list[str] | None,
        QueryParameter(name="type", description="Types or patterns (signin.dhcp.*)."),
    ] = None,
    organization: FromQuery[str | None] = None,
    context: FromQuery[str | None] = None,
    since: Annotated[
        str | None, QueryParameter(description="Recorded at or after (RFC 3339).")
    ] = None,
    until: Annotated[str | None, QueryParameter(description="Recorded before (RFC 3339).")] = None,
    after_sequence: Annotated[int, QueryParameter(ge=0, le=2**62)] = 0,
    internal: Annotated[
        bool, QueryParameter(name="all", description="Add the internal events (admin tokens only).")
    ] = False,
    limit: Limit = DEFAULT_LIMIT,
    after: After = None,
) -> Response[bytes]:
    if internal:
        tenant.require_admin()
    start = max(after_sequence, decode_sequence(after) if after else 0)

    def read() -> bytes:
        window = tenant.event_window(organization, context)
        records = list(state.backend.system.replay(
            after_sequence=start, types=types or (), since=since, until=until, limit=limit,
            internal=internal, **window,
        ))  # fmt: skip
        nxt = b"null"
        if len(records) == limit:
            nxt = b'"' + encode_cursor(records[-1].sequence).encode() + b'"'
        lines = b",".join(r.replayed() if r.internal else r.delivered() for r in records)
        return b'{"data":[' + lines + b'],"next":' + nxt + b"}"

    return Response(await state.backend.call(read), media_type="application/json")
