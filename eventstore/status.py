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
    """Per subscription: its health, backlog, age of the oldest undelivered event, the
    deliveries that failed for good, its last success and since when it has been failing."""
    conn = store.project(DeliveryHistory())
    subscriptions = Subscriptions.all(store.project(Subscriptions()))
    unbatched_after = DeliveryHistory.unbatched_after(conn, subscriptions)
    rows = []
    for sub in subscriptions:
        unsettled = DeliveryHistory.unsettled(conn, sub.id)
        after = unbatched_after[sub.id]
        unbatched, first_unbatched = 0, None
        for record in store.log.read(after, filter=sub.window()):
            unbatched += 1
            first_unbatched = first_unbatched or record.recorded_at
        firsts = [r.recorded_at for r in store.log.read_sequences(
            [d.first_sequence for d in unsettled[:1]]
        )]  # fmt: skip
        oldest = [t for t in (*firsts, first_unbatched) if t]
        rows.append({
            "subscription_id": sub.id,
            "name": sub.fields.name,
            "state": "enabled" if sub.enabled else "disabled",
            "health": sub.health,
            "backlog": sum(d.count for d in unsettled) + unbatched,
            "oldest_undelivered_age": (
                format_duration((now - parse_time(min(oldest))).total_seconds())
                if oldest else None
            ),
            "failed": DeliveryHistory.failed(conn, sub.id),
            "last_success": sub.last_success_at,
            "failing_since": sub.failing_since,
            "backoff": format_duration(sub.backoff) if sub.backoff_until else None,
            "backoff_until": sub.backoff_until,
        })  # fmt: skip
    return rows
