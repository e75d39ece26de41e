"""What is true: the append-only log, the event catalogue, and the projections kept from it."""

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
