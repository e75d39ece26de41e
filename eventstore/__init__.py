"""What is true: the append-only log, the event catalogue, and the projections kept from it."""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from signin_webhooks.eventstore.catalogue import (
        CATALOGUE,
        EVENT_TYPES,
        MAX_DEPTH,
        MAX_EVENT_BYTES,
        Published,
    )
    from signin_webhooks.eventstore.errors import (
        InvalidInput,
        NotFound,
        SigninWebhooksError,
        StoreError,
    )
    from signin_webhooks.eventstore.events import InternalEvent
    from signin_webhooks.eventstore.log import AppendResult, EventLog, Filter, Record
    from signin_webhooks.eventstore.projection import Projection, Projector
    from signin_webhooks.eventstore.publishing import MAX_INPUT_BYTES, parse_events, read_events
    from signin_webhooks.eventstore.stats import EventCounts
    from signin_webhooks.eventstore.store import Store
    from signin_webhooks.eventstore.times import format_time, parse_time, utc_now

# Each name is imported on first use: the process validating a large publish needs only the
# catalogue and the reading of input, and starts without the log, SQLite and the projections.
_EXPORTS = {
    "AppendResult": "signin_webhooks.eventstore.log",
    "CATALOGUE": "signin_webhooks.eventstore.catalogue",
    "EVENT_TYPES": "signin_webhooks.eventstore.catalogue",
    "EventCounts": "signin_webhooks.eventstore.stats",
    "EventLog": "signin_webhooks.eventstore.log",
    "Filter": "signin_webhooks.eventstore.log",
    "InternalEvent": "signin_webhooks.eventstore.events",
    "InvalidInput": "signin_webhooks.eventstore.errors",
    "MAX_DEPTH": "signin_webhooks.eventstore.catalogue",
    "MAX_EVENT_BYTES": "signin_webhooks.eventstore.catalogue",
    "MAX_INPUT_BYTES": "signin_webhooks.eventstore.publishing",
    "NotFound": "signin_webhooks.eventstore.errors",
    "Projection": "signin_webhooks.eventstore.projection",
    "Projector": "signin_webhooks.eventstore.projection",
    "Published": "signin_webhooks.eventstore.catalogue",
    "Record": "signin_webhooks.eventstore.log",
    "SigninWebhooksError": "signin_webhooks.eventstore.errors",
    "Store": "signin_webhooks.eventstore.store",
    "StoreError": "signin_webhooks.eventstore.errors",
    "format_time": "signin_webhooks.eventstore.times",
    "parse_events": "signin_webhooks.eventstore.publishing",
    "parse_time": "signin_webhooks.eventstore.times",
    "read_events": "signin_webhooks.eventstore.publishing",
    "utc_now": "signin_webhooks.eventstore.times",
}
__all__ = [
    "CATALOGUE",
    "EVENT_TYPES",
    "MAX_DEPTH",
    "MAX_EVENT_BYTES",
    "MAX_INPUT_BYTES",
    "AppendResult",
    "EventCounts",
    "EventLog",
    "Filter",
    "InternalEvent",
    "InvalidInput",
    "NotFound",
    "Projection",
    "Projector",
    "Published",
    "Record",
    "SigninWebhooksError",
    "Store",
    "StoreError",
    "format_time",
    "parse_events",
    "parse_time",
    "read_events",
    "utc_now",
]


def __getattr__(name: str) -> _typing.Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'signin_webhooks.eventstore' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
