"""Durations as people write them (`20m`, `1h30m`, `500ms`), so settings print back as written.

Whole numbers with units h, m, s, ms, largest first, each unit once; a bare `0` means none.
Millisecond resolution is the finest a setting needs, so values are whole milliseconds.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from signin_webhooks.eventstore.errors import InvalidInput

DAY = 24 * 3600  # seconds
_UNIT_MS = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_UNIT_ORDER = ("h", "m", "s", "ms")
_COMPONENT = re.compile(r"([0-9]+)(ms|h|m|s)")
_FRACTION = re.compile(r"([0-9]*\.[0-9]+)(ms|h|m|s)")
_EXAMPLE = "write whole numbers with units h, m, s or ms, e.g. 30s, 20m or 1h30m"


def parse_duration(
    text: object,
    *,
    what: str = "duration",
    maximum: float | None = None,
    minimum: float | None = None,
) -> float:
    """Seconds written by a person; every refusal names `what` and says how to write it instead."""
    return _parse_duration(text, f"«{what}»", maximum, minimum)


def _parse_duration(text: object, what: str, maximum: float | None, minimum: float | None) -> float:
    if not isinstance(text, str):
        raise InvalidInput(f"{what} {text!r} is not text: {_EXAMPLE}")
    value = text.strip()
    if not value:
        raise InvalidInput(f"{what} is empty: {_EXAMPLE}")
    shown = f"{what} {_clip(text)!r}"
    if value.startswith("-"):
        raise InvalidInput(f"{shown} is negative: write 0 or more, e.g. 30s")
    if value.isascii() and value.isdigit():
        if int(value) == 0:
            return _within(0, shown, maximum, minimum)
        raise InvalidInput(f"{shown} has no unit: write units, e.g. {int(value)}s")
    total_ms = _components_ms(value, shown)
    return _within(total_ms, shown, maximum, minimum)


def _clip(text: str) -> str:
    """Keep messages one readable line even for absurd input."""
    return text if len(text) <= 40 else text[:40] + "..."


def _components_ms(value: str, shown: str) -> int:
    total = 0
    position = 0
    last_rank = -1
    while position < len(value):
        match = _COMPONENT.match(value, position)
        if match is None:
            raise InvalidInput(_refusal(value, shown))
        number, unit = match.groups()
        rank = _UNIT_ORDER.index(unit)
        if rank <= last_rank:
            raise InvalidInput(
                f"{shown} repeats or reorders its units: write them largest first, "
                "each once, e.g. 1h30m"
            )
        last_rank = rank
        total += int(number) * _UNIT_MS[unit]
        position = match.end()
    return total


def _refusal(value: str, shown: str) -> str:
    """The most helpful message for text that is not a duration."""
    fraction = _FRACTION.fullmatch(value)
    if fraction is not None:
        ms = Decimal(fraction.group(1)) * _UNIT_MS[fraction.group(2)]
        if ms == ms.to_integral_value() and ms > 0:
            return (
                f"{shown} has a fraction: write whole units, e.g. {format_duration(int(ms) / 1000)}"
            )
        return f"{shown} is finer than a millisecond: write whole units, ms at the finest"
    return f"{shown} is not a duration: {_EXAMPLE}"


def _within(total_ms: int, shown: str, maximum: float | None, minimum: float | None) -> float:
    try:
        seconds = total_ms / 1000
    except OverflowError:
        seconds = math.inf
    if maximum is not None and seconds > maximum:
        raise InvalidInput(f"{shown} is too long: at most {format_duration(maximum)}")
    if math.isinf(seconds):
        raise InvalidInput(f"{shown} is too long: write a shorter duration")
    if minimum is not None and seconds < minimum:
        raise InvalidInput(f"{shown} is too short: at least {format_duration(minimum)}")
    return seconds


def format_duration(seconds: float) -> str:
    """The way a person writes it, rounded to the millisecond: 5400 -> `1h30m`, 0.5 -> `500ms`."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"a duration is a number of seconds, not {type(seconds).__name__}")
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        raise ValueError(
            f"cannot write {seconds!r} seconds as a duration: need a finite value >= 0"
        )
    remaining = round(seconds * 1000)
    if remaining == 0:
        return "0"
    parts = []
    for unit in _UNIT_ORDER:
        count, remaining = divmod(remaining, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_duration_list(
    text: object,
    *,
    what: str = "durations",
    maximum: float | None = None,
    minimum: float | None = None,
) -> tuple[float, ...]:
    """Comma-separated durations such as a retry schedule `2m,4m,8m`; never empty."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"«{what}» is empty: write durations separated by commas, e.g. 2m,4m,8m")
    items = text.split(",")
    if any(not item.strip() for item in items):
        raise InvalidInput(
            f"«{what}» {text!r} has an empty item: separate durations with single commas, "
            "e.g. 2m,4m,8m"
        )
    return tuple(_parse_duration(item, f"«{what}» item", maximum, minimum) for item in items)


def format_duration_list(values: tuple[float, ...] | list[float]) -> str:
    """The inverse of `parse_duration_list`, for printing a setting as it was written."""
    return ",".join(format_duration(value) for value in values)
