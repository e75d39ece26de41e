"""Cursor pagination: `limit` and `after` in, `{"data": [...], "next": cursor or null}` out.

A cursor is the key of the last item of a page, in the list's own order (a log sequence, a
subscription id, a delivery's seal time and id): items added meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.params import QueryParameter

from signin_webhooks.eventstore import InvalidInput

T = TypeVar("T")
DEFAULT_LIMIT, MAX_LIMIT = 50, 1000

Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Items per page, 1 to {MAX_LIMIT}."),
]
After = Annotated[
    str | None,
    QueryParameter(description="The `next` cursor of the previous page.", max_length=400),
]


class Page(msgspec.Struct, Generic[T]):
    data: list[T]
    next: str | None


def encode_cursor(*parts: str | int) -> str:
    text = "\x1f".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, parts: int) -> list[str]:
    """The parts of a cursor this API gave; anything else is refused in one line."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found = text.split("\x1f")
    if len(found) != parts or not all(found):
        raise InvalidInput(
            f"after {cursor[:60]!r} is not a cursor of this list; pass the `next` of a page"
        )
    return found


def decode_sequence(cursor: str) -> int:
    (value,) = decode_cursor(cursor, 1)
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InvalidInput(
            f"after {cursor[:60]!r} is not a cursor of this list; pass the `next` of a page"
        )
    return int(value)
