"""Times as the product writes them: RFC 3339, UTC, microseconds, fixed width; and as a person
may ask for them, relative to now (`1h`, `2d`: that long ago)."""

from __future__ import annotations

import datetime as dt
import re

from signin_webhooks.eventstore.durations import parse_duration
from signin_webhooks.eventstore.errors import InvalidInput

_RELATIVE = re.compile(r"(?:([0-9]+)d)?((?:[0-9]+(?:ms|h|m|s))*)")
_EXAMPLE = "write e.g. 2026-01-31T09:00:00Z, or a time ago such as 90m, 1h or 2d"


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def format_time(t: dt.datetime) -> str:
    """Fixed width, so text order is time order."""
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(
    text: str | dt.datetime, *, what: str = "time", now: dt.datetime | None = None
) -> dt.datetime:
    """An RFC 3339 time with a zone (a date alone means its midnight UTC), or a time ago:
    days, hours, minutes, seconds before `now` (`2d`, `1d12h`, `90m`)."""
    if isinstance(text, dt.datetime):
        value = text
    else:
        ago = _ago(text, what)
        if ago is not None:
            try:
                return (now or utc_now()) - ago
            except OverflowError:
                raise InvalidInput(f"«{what}» '{text}' is too long ago; {_EXAMPLE}") from None
        try:
            value = dt.datetime.fromisoformat(text.strip().replace("z", "Z"))
        except ValueError:
            raise InvalidInput(f"«{what}» '{text}' is not an RFC 3339 time; {_EXAMPLE}") from None
        if len(text.strip()) == 10:
            value = value.replace(tzinfo=dt.UTC)
    if value.tzinfo is None:
        raise InvalidInput(f"«{what}» '{text}' needs a time zone; write e.g. 2026-01-31T09:00:00Z")
    return value


def _ago(text: str, what: str) -> dt.timedelta | None:
    """How long ago a relative time means, or None for text that is not one."""
    value = text.strip()
    match = _RELATIVE.fullmatch(value)
    if not value or match is None:
        return None
    days, rest = match.groups()
    seconds = parse_duration(rest, what=what) if rest else 0.0
    try:
        return dt.timedelta(days=int(days or 0), seconds=seconds)
    except OverflowError:
        raise InvalidInput(f"«{what}» '{text}' is too long ago; {_EXAMPLE}") from None
