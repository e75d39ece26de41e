"""Status: per subscription, its backlog and health, read from the log and the history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from signin_webhooks.eventstore.deliveries import DeliveryHistory
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.store import Store
from signin_webhooks.eventstore.subscriptions import Subscriptions
from signin_webhooks.eventstore.times import parse_time


def subscription_status(store: Store, now: dt.datetime) -> list[dict[str, Any]]:
    """Per subscription: backlog, age of the oldest undelivered event, last success, and
    since when it has been failing."""
    conn = store.project(DeliveryHistory())
    positions = DeliveryHistory.batched_positions(conn)
    subscriptions = Subscriptions.all(store.project(Subscriptions()))
    rows = []
    for sub in subscriptions:
        unsettled = DeliveryHistory.unsettled(conn, sub.id)
        after = max(sub.start_after, positions.get(sub.id, 0))
        unbatched, first_unbatched = 0, None
        for record in store.log.read(after, filter=sub.window()):
            unbatched += 1
            first_unbatched = first_unbatched or record.recorded_at
        firsts = [r.recorded_at for r in store.log.read_sequences(
            [d.first_sequence for d in unsettled[:1]]
        )]  # fmt: skip
        oldest = [t for t in (*firsts, first_unbatched) if t]
        last_success, failing_since = DeliveryHistory.health(conn, sub.id)
        rows.append({
            "subscription_id": sub.id,
            "name": sub.fields.name,
            "state": "enabled" if sub.enabled else "disabled",
            "backlog": sum(d.count for d in unsettled) + unbatched,
            "oldest_undelivered_age": (
                format_duration((now - parse_time(min(oldest))).total_seconds())
                if oldest else None
            ),
            "last_success": last_success,
            "failing_since": failing_since,
        })  # fmt: skip
    return rows
