"""What a subscription is configured with, validated: every refusal names the field and the rule."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import msgspec

from signin_webhooks.eventstore.durations import (
    DAY,
    format_duration,
    format_duration_list,
    parse_duration,
    parse_duration_list,
)
from signin_webhooks.eventstore.endpoints import (
    validate_content_type,
    validate_headers,
    validate_url,
)
from signin_webhooks.eventstore.errors import InvalidInput
from signin_webhooks.eventstore.event_types import check_patterns

KiB, MiB = 1024, 1024 * 1024
Scope = Literal["context", "organization"]


class SubscriptionFields(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an operator sets on a subscription; durations are seconds, and `written`
    keeps each duration given as text the way it was written (`90m` stays `90m`)."""

    name: str
    description: str = ""
    scope: Scope
    scope_id: str
    url: str
    content_type: str = "application/json"
    headers: dict[str, str] = {}
    events: tuple[str, ...] = ("*",)
    max_events: int = 20_000
    max_bytes: int = 16 * MiB
    flush_interval: float = 1200.0
    retry_schedule: tuple[float, ...] = (120.0, 240.0, 480.0, 960.0, 1920.0)
    timeout: float = 30.0
    auto_disable_after: float | None = None  # None: the installation setting; 0: never
    operations_url: str | None = None  # told of changes of health; None: the setting's
    written: dict[str, str] = {}

    def shown(self, key: str) -> str | None:
        """A duration field as its operator wrote it, or in the shortest form."""
        value = getattr(self, key)
        written = self.written.get(key)
        if written is not None or value is None:
            return written
        return format_duration_list(value) if key == "retry_schedule" else format_duration(value)


DURATIONS = ("flush_interval", "retry_schedule", "timeout", "auto_disable_after")
FIELD_NAMES = tuple(name for name in SubscriptionFields.__struct_fields__ if name != "written")


def validate_fields(
    values: Mapping[str, Any], base: SubscriptionFields | None = None
) -> SubscriptionFields:
    """Build fields from operator input (CLI text or Python values), over `base` for an update."""
    unknown = set(values) - set(FIELD_NAMES)
    if unknown:
        raise InvalidInput(
            f"unknown subscription field {sorted(unknown)[0]!r}; fields: {', '.join(FIELD_NAMES)}"
        )
    merged: dict[str, Any] = msgspec.structs.asdict(base) if base else {}
    written = dict(merged.get("written", {}))
    for key, value in values.items():
        if value is not None:
            merged[key] = _CHECKS[key](value)
            if key in DURATIONS:
                written.pop(key, None)
                if isinstance(value, str):
                    written[key] = ",".join(item.strip() for item in value.split(","))
    merged["written"] = written
    for key in ("name", "scope", "scope_id", "url"):
        if key not in merged:
            raise InvalidInput(_MISSING[key])
    return SubscriptionFields(**merged)


def _name(value: str) -> str:
    value = _text(value, "name").strip()
    if not value or len(value) > 200:
        raise InvalidInput("«name» must be 1 to 200 characters")
    return value


def _description(value: str) -> str:
    value = _text(value, "description")
    if len(value) > 2000:
        raise InvalidInput("«description» must be at most 2000 characters")
    return value


def _scope(value: str) -> str:
    if value not in ("context", "organization"):
        raise InvalidInput("scope must be 'context' or 'organization'")
    return value


def _scope_id(value: str) -> str:
    value = _text(value, "scope_id").strip()
    if not value or len(value) > 200 or any(ord(c) < 32 for c in value):
        raise InvalidInput("a context or organization id must be 1 to 200 printable characters")
    return value


def _events(value: Iterable[str] | str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else tuple(value)
    if not items:
        raise InvalidInput("«events»: give at least one event type or pattern (default: all)")
    for item in items:
        _text(item, "events")
    return check_patterns(items, "events")


def _integer(option: str, low: int, high: int, shown: str) -> Any:
    def check(value: int | str) -> int:
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            number = int(value)
        if number is None or not low <= number <= high:
            raise InvalidInput(f"«{option}» {value!r} must be a whole number from {shown}")
        return number

    return check


def _duration(option: str, maximum: float, minimum: float | None = None) -> Any:
    def check(value: object) -> float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = format_duration(value) if 0 <= value < math.inf else str(value)
        return parse_duration(value, what=option, maximum=maximum, minimum=minimum)

    return check


def _schedule(value: str | Iterable[float]) -> tuple[float, ...]:
    if not isinstance(value, str):
        value = format_duration_list(list(value))
    schedule = parse_duration_list(value, what="retry_schedule", maximum=DAY, minimum=0.001)
    if len(schedule) > 50:
        raise InvalidInput("«retry_schedule» has more than 50 retries; shorten it")
    return schedule


def _text(value: object, option: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"«{option}» must be text, not {type(value).__name__}")
    if "\x00" in value:
        raise InvalidInput(f"«{option}» may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"«{option}» is not valid UTF-8 text; send it as UTF-8") from None
    return value


_CHECKS = {
    "name": _name,
    "description": _description,
    "scope": _scope,
    "scope_id": _scope_id,
    "url": lambda v: validate_url(_text(v, "url")),
    "content_type": lambda v: validate_content_type(_text(v, "content_type")),
    "headers": validate_headers,
    "events": _events,
    "max_events": _integer("max_events", 1, 1_000_000, "1 to 1000000"),
    "max_bytes": _integer("max_bytes", 64 * KiB, 64 * MiB, "65536 (64 KiB) to 67108864 (64 MiB)"),
    "flush_interval": _duration("flush_interval", DAY),
    "retry_schedule": _schedule,
    "timeout": _duration("timeout", 3600, minimum=0.001),
    "auto_disable_after": _duration("auto_disable_after", 3650 * DAY),
    "operations_url": lambda v: validate_url(_text(v, "operations_url")),
}
_ONE_SCOPE = "give exactly one of «context» ID and «organization» ID"
_MISSING = {
    "name": "«name» is required",
    "scope": _ONE_SCOPE,
    "scope_id": _ONE_SCOPE,
    "url": "«url» is required: the endpoint that receives the POSTs",
}
