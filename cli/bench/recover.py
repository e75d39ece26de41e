"""recover: seconds from start to the first delivery, on a log whose events are all delivered
already, beside the same on a log holding only the subscriptions."""

from __future__ import annotations

import time
from pathlib import Path

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import add_subscriptions, publish_many
from signin_webhooks.cli.bench.sink import Sink

SUBSCRIPTIONS = 100


def _first_delivery(db: str | Path, sink: Sink) -> float:
    """Publish one event, then time a start until the sink has it."""
    with WebhookSystem(db, deliver=False) as system:
        system.publish({"type": "signin.session.created", "organization_id": "org_acme",
                        "context_id": "ctx_0", "session_id": "ses_after_restart"})  # fmt: skip
    before = sink.counts()["events"]
    start = time.time()
    with WebhookSystem(db, allow_private_networks=True):
        sink.wait_for(int(before) + 1, timeout=120)
        return time.time() - start


def recover(places: Places, sink: Sink, n_events: int) -> Row:
    specs = [
        {"name": f"s{i}", "url": sink.url, "context": f"ctx_{i}",
         "max_events": 1000, "flush_interval": "0"}
        for i in range(SUBSCRIPTIONS)
    ]  # fmt: skip
    fresh, full = places.new("recover-fresh.db"), places.new("recover-full.db")
    add_subscriptions(fresh, specs)
    add_subscriptions(full, specs)
    publish_many(full, n_events, [f"ctx_{i}" for i in range(SUBSCRIPTIONS)])
    sink.reset()
    with WebhookSystem(full, allow_private_networks=True):  # process everything once
        sink.wait_for(n_events, timeout=1800)
    base = _first_delivery(fresh, sink)
    ours = _first_delivery(full, sink)
    return row(
        "recover", ours, "s", base,
        f"start to first delivery after {n_events} events processed; baseline: empty log",
    )  # fmt: skip
