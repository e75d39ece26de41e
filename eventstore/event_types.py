"""Which event types a list of types and patterns selects: a subscription's `events`, a replay's
`types`. One rule, read in Python and in each backend's SQL:

- `*` selects every type;
- a pattern ending in `.*` selects every type under it (`signin.session.*`);
- anything else selects the type it names, and only that one.
"""

from __future__ import annotations

from collections.abc import Iterable

from signin_webhooks.eventstore.catalogue import EVENT_TYPES
from signin_webhooks.eventstore.errors import InvalidInput

EVERY = "*"


def _prefix(pattern: str) -> str | None:
    """What a type starts with to be selected by `pattern`; None for a type of its own."""
    if pattern == EVERY:
        return ""
    if pattern.endswith(".*"):
        return pattern[:-1]
    return None


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """Whether any of the patterns selects the event type."""
    for pattern in patterns:
        prefix = _prefix(pattern)
        if pattern == event_type or (prefix is not None and event_type.startswith(prefix)):
            return True
    return False


def selected(patterns: Iterable[str]) -> tuple[str, ...]:
    """The catalogue's types the patterns select, in the catalogue's order."""
    patterns = tuple(patterns)
    return tuple(t for t in EVENT_TYPES if matches(patterns, t))


def check_patterns(patterns: Iterable[str] | str, field: str) -> tuple[str, ...]:
    """The patterns (one given as a string alone is one), each once, or a refusal naming
    `field` of the first that selects none of the catalogue's types."""
    patterns = (patterns,) if isinstance(patterns, str) else tuple(patterns)
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise InvalidInput(f"«{field}» must be event types, not {type(pattern).__name__}")
        if not selected((pattern,)):
            raise InvalidInput(
                f"«{field}» {pattern!r} matches no event type; use a type, a pattern such as "
                f"signin.session.*, or *; types: {', '.join(EVENT_TYPES)}"
            )
    return tuple(dict.fromkeys(patterns))


def sqlite_glob(pattern: str) -> str:
    """The pattern as the right side of SQLite's `type GLOB ?`."""
    prefix = _prefix(pattern)
    literal = pattern if prefix is None else prefix
    escaped = "".join(f"[{c}]" if c in "*?[" else c for c in literal)
    return escaped if prefix is None else escaped + "*"


def postgres_like(pattern: str) -> str:
    """The pattern as the right side of PostgreSQL's `type LIKE ?` (backslash escapes)."""
    prefix = _prefix(pattern)
    literal = pattern if prefix is None else prefix
    escaped = literal.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped if prefix is None else escaped + "%"
