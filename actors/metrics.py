"""Metrics in Prometheus' text format: what this process did (attempts, seals, events routed and
delivered, the pool in use), counted as it happens, and what the database holds (events
published, each subscription's backlog and health), read when scraped.

Labels are bounded: an outcome, an error kind, an event type of the catalogue, a health, a
subscription id (as many as there are subscriptions); never a delivery or event id.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import generate_latest, start_http_server
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from signin_webhooks.eventstore import EventCounts, SigninWebhooksError, Store
from signin_webhooks.eventstore.durations import parse_duration
from signin_webhooks.eventstore.status import subscription_status
from signin_webhooks.eventstore.statuses import HEALTH_STATES

PREFIX = "signin_webhooks"
REGISTRY = CollectorRegistry()
ATTEMPTS = Counter(
    f"{PREFIX}_attempts", "Delivery attempts made by this process, by outcome and error kind.",
    ["outcome", "error_kind"], registry=REGISTRY,
)  # fmt: skip
ATTEMPT_SECONDS = Histogram(
    f"{PREFIX}_attempt_duration_seconds", "How long each delivery attempt took.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=REGISTRY,
)  # fmt: skip
SEALS = Counter(f"{PREFIX}_batches_sealed", "Batches sealed by this process.", registry=REGISTRY)
ROUTED = Counter(
    f"{PREFIX}_events_routed", "Events this process handed to subscriptions' batches (one per"
    " subscription that takes it).", registry=REGISTRY,
)  # fmt: skip
DELIVERED = Counter(
    f"{PREFIX}_events_delivered", "Events in deliveries that succeeded, by this process.",
    registry=REGISTRY,
)  # fmt: skip
POOL_IN_USE = Gauge(
    f"{PREFIX}_delivery_pool_in_use", "Delivery actors making an attempt now.", registry=REGISTRY
)
POOL_WAITING = Gauge(
    f"{PREFIX}_delivery_pool_waiting", "Attempts waiting in the pool for their endpoint's turn.",
    registry=REGISTRY,
)  # fmt: skip


class StoreCollector(Collector):
    """What the database holds, read at each scrape through a connection of its own."""

    def __init__(self, path: str | os.PathLike[str], clock: Callable[[], dt.datetime]) -> None:
        self.path, self.clock = path, clock

    def collect(self) -> Iterator[Metric]:
        store = Store(self.path, self.clock)
        try:
            published = CounterMetricFamily(
                f"{PREFIX}_events_published", "Sign In events in the log, compacted ones too.",
                labels=["type"],
            )  # fmt: skip
            per_type: dict[str, int] = {}
            for row in EventCounts.rows(store.project(EventCounts())):
                per_type[str(row["type"])] = per_type.get(str(row["type"]), 0) + int(row["count"])
            for kind, count in sorted(per_type.items()):
                published.add_metric([kind], count)
            yield published
            yield from self._subscriptions(subscription_status(store, self.clock()))
        finally:
            store.close()

    @staticmethod
    def _subscriptions(rows: list[dict[str, Any]]) -> Iterator[Metric]:
        backlog = GaugeMetricFamily(
            f"{PREFIX}_subscription_backlog", "Events not delivered yet.", labels=["subscription"]
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_subscription_oldest_undelivered_seconds",
            "How long the oldest undelivered event has waited.", labels=["subscription"],
        )  # fmt: skip
        failed = GaugeMetricFamily(
            f"{PREFIX}_subscription_failed_deliveries",
            "Deliveries that failed for good, still in the history.", labels=["subscription"],
        )  # fmt: skip
        health = GaugeMetricFamily(
            f"{PREFIX}_subscription_health", "1 for the subscription's health, 0 for the others.",
            labels=["subscription", "health"],
        )  # fmt: skip
        for row in rows:
            sub = [row["subscription_id"]]
            backlog.add_metric(sub, row["backlog"])
            age = row["oldest_undelivered_age"]
            oldest.add_metric(sub, 0 if age is None else parse_duration(age))
            failed.add_metric(sub, row["failed"])
            for state in HEALTH_STATES:
                health.add_metric([*sub, state], 1 if row["health"] == state else 0)
        yield from (backlog, oldest, failed, health)


def registry_for(
    path: str | os.PathLike[str], clock: Callable[[], dt.datetime]
) -> CollectorRegistry:
    """This process's counters and the database's state, as one registry to expose."""
    combined = CollectorRegistry()
    combined.register(_Counted())
    combined.register(StoreCollector(path, clock))
    return combined


class _Counted(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(registry: CollectorRegistry) -> bytes:
    """The text format, as `/metrics` answers it."""
    return generate_latest(registry)


def serve(
    port: int, registry: CollectorRegistry, host: str = "127.0.0.1"
) -> tuple[WSGIServer, int]:
    """Expose `registry` at http://host:port/metrics on a thread; returns (server, port)."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as e:
        raise SigninWebhooksError(
            f"cannot serve metrics on {host} port {port}: {e.strerror or e}; choose another"
            " «metrics_port» or «metrics_host»"
        ) from None
    return server, server.server_address[1]
