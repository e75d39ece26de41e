"""Publish-to-receipt under load: events published at a steady rate, each timed from its publish
to its arrival at the sink process."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from signin_webhooks.cli.bench.sink import Sink

Event = dict[str, Any]


def paced(events: list[Event], rate: float, send: Callable[[Event], object]) -> dict[str, float]:
    """Send each event at its turn; returns the wall time each event id was sent."""
    sent = {}
    start = time.time()
    for i, event in enumerate(events):
        time.sleep(max(0.0, start + i / rate - time.time()))
        sent[event["id"]] = time.time()
        send(event)
    return sent


def delays(sink: Sink, sent: dict[str, float], timeout: float = 60) -> list[float]:
    """Seconds from publish to receipt, per event, once all have arrived (or the time is up)."""
    deadline = time.time() + timeout
    while len(received := sink.times()) < len(sent) and time.time() < deadline:
        time.sleep(0.05)
    return [received[k] - t for k, t in sent.items() if k in received]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99, in milliseconds."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000
