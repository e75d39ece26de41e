"""What is true: the append-only log, the event catalogue, and the projections kept from it."""

from eventstore.catalogue import CATALOGUE, EVENT_TYPES, MAX_EVENT_BYTES, Published
from eventstore.errors import InvalidInput, NotFound, SigninWebhooksError, StoreError
from eventstore.events import InternalEvent
from eventstore.log import AppendResult, EventLog, Filter, Record
from eventstore.projection import Projection, Projector
from eventstore.publishing import parse_events
from eventstore.stats import EventCounts
from eventstore.store import Store
from eventstore.times import format_time, parse_time, utc_now

__all__ = [
    "CATALOGUE",
    "EVENT_TYPES",
    "MAX_EVENT_BYTES",
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
    "utc_now",
]
