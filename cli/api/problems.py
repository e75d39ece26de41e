"""Errors as RFC 9457 problem details, each with the one-line message the command line gives,
in the API's words: its JSON fields and requests where the command line has options and commands."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.datastructures import ResponseSpec

from signin_webhooks.eventstore import InvalidInput, NotFound, SigninWebhooksError, StoreError
from signin_webhooks.eventstore.errors import Conflict, Forbidden, Unauthorized

MEDIA_TYPE = "application/problem+json"
PREFIX = "/api/v1"  # every route of the API is under it
log = logging.getLogger("signin_webhooks.api")


class Problem(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem: `detail` is the message the command line prints for the same error, in
    the API's words; `errors` lists its lines when there are several (one per invalid event)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[str] = []


_STATUS: dict[type[SigninWebhooksError], int] = {
    InvalidInput: 400,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    StoreError: 503,
}


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    lines = detail.splitlines() or [HTTPStatus(status).phrase.lower()]
    body = Problem(
        title=HTTPStatus(status).phrase,
        status=status,
        detail=lines[0] if len(lines) == 1 else "; ".join(lines),
        errors=lines if len(lines) > 1 else [],
    )
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=MEDIA_TYPE, headers=headers
    )


def status_of(e: SigninWebhooksError) -> int:
    return next((code for cls, code in _STATUS.items() if isinstance(e, cls)), 500)


# The API's name for each field and operation a product error names, where it differs from
# the Python API's: a JSON field for a field, a request for an operation.
NAMES = {
    "context": "context_id",
    "organization": "organization_id",
    "scope_id": "context_id/organization_id",
    "header": "headers",
    "event_type": "type",
    "types": "type",
    "subscriptions.list()": f"GET {PREFIX}/subscriptions",
    "subscriptions.list(include_deleted=True)": f"GET {PREFIX}/subscriptions?all=true",
    "subscriptions.test()": f"POST {PREFIX}/subscriptions/{{id}}/test",
    "deliveries.list()": f"GET {PREFIX}/deliveries",
    "tokens.create()": "signin-webhooks tokens create",
    "settings.set('allow_private_networks', 'true')": (
        f'PATCH {PREFIX}/settings {{"allow_private_networks": "true"}}'
    ),
    "allow_private_networks": "serve --allow-private-networks",
}


def in_fields(error: SigninWebhooksError) -> str:
    """The error's message with the API's JSON field or request for each name it marks."""
    return error.worded(NAMES)


def product_error(request: Request[Any, Any, Any], e: SigninWebhooksError) -> Response[Any]:
    status = status_of(e)
    if status == 503:
        log.error("%s %s: %s", request.method, request.url.path, e)
    headers = {"WWW-Authenticate": 'Bearer realm="signin-webhooks"'} if status == 401 else None
    return problem(status, in_fields(e), headers)


def http_error(request: Request[Any, Any, Any], e: HTTPException) -> Response[Any]:
    if isinstance(e, RequestEntityTooLarge):
        limit = request.route_handler.resolve_request_max_body_size()
        return problem(
            413,
            f"the request body is over the {limit}-byte limit (setting max_request_bytes);"
            " send it in smaller parts",
        )
    if isinstance(e, ValidationException):
        return problem(400, _validation_detail(e))
    if isinstance(e, NotAuthorizedException):
        return problem(401, e.detail)
    if e.status_code == 404:
        return problem(404, f"no route {request.url.path}; /docs lists the API")
    if e.status_code == 405:
        return problem(
            405,
            f"{request.method} is not allowed on {request.url.path}; /docs lists the API",
            e.headers,
        )
    return problem(e.status_code, str(e.detail), e.headers)


def server_error(request: Request[Any, Any, Any], e: Exception) -> Response[Any]:
    log.exception("%s %s failed", request.method, request.url.path)
    return problem(500, "the server failed to answer this request; its log says why")


def _validation_detail(e: ValidationException) -> str:
    """Name the parameter at fault, as the command line names its option."""
    extra = e.extra if isinstance(e.extra, list) else []
    for item in extra:
        if isinstance(item, dict) and item.get("key"):
            source = item.get("source", "query")
            where = getattr(source, "value", source)
            return f"{where} parameter {item['key']!r}: {item.get('message', 'is not valid')}"
    return str(e.detail)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    SigninWebhooksError: product_error,
    HTTPException: http_error,
    Exception: server_error,
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem responses a route documents."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase,
            media_type=MEDIA_TYPE,
            generate_examples=False,
        )
        for status in statuses
    }
