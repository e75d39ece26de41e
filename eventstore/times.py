"""Times as the product writes them: RFC 3339, UTC, microseconds, fixed width."""

from __future__ import annotations

import datetime as dt

from signin_webhooks.eventstore.errors import InvalidInput


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(t: dt.datetime) -> str:
    """Fixed width, so text order is time order."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | dt.datetime, *, what: str = "time") -> dt.datetime:
    """An RFC 3339 time with a zone (a date alone means its midnight UTC)."""
    if isinstance(text, dt.datetime):
        value = text
    else:
        try:
            value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
        except ValueError:
            raise InvalidInput(
                f"{what} '{text}' is not an RFC 3339 time; write e.g. 2026-01-31T09:00:00Z",
                fields=(what,),
            ) from None
        if len(text.strip()) == 10:
            value = value.replace(tzinfo=dt.UTC)
    if value.tzinfo is None:
        raise InvalidInput(
            f"{what} '{text}' needs a time zone; write e.g. 2026-01-31T09:00:00Z", fields=(what,)
        )
    return value
