"""Operational notifications: what an operations endpoint is told when a subscription's health
changes (`signin_webhooks.subscription.failing`, `.disabled`, `.recovered`), and the record of
each attempt to tell it."""

from __future__ import annotations

from typing import Any

import msgspec

from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection
from signin_webhooks.eventstore.statuses import NotificationKind, NotificationOutcome
from signin_webhooks.eventstore.subscriptions import (
    Subscription,
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
)

PREFIX = "signin_webhooks.subscription."
_encode = msgspec.json.Encoder().encode


class NotificationAttempted(InternalEvent, frozen=True, kw_only=True, tag="notification.attempted"):
    """One POST of a notification to an operations endpoint; `kind`: failing, recovered or
    disabled; `outcome`: sent, retrying or failed (typed words: see eventstore/statuses.py).
    v2: `url`, `body` and `next_attempt_at`, so that a retry still to come when the process stops
    is sent after the next start (v1 has none of them: its retry is not resumed)."""

    v: int = 2
    notification_id: str
    subscription_id: str
    kind: NotificationKind
    attempt: int
    status: int | None
    error_kind: str | None
    outcome: NotificationOutcome
    url: str | None = None
    body: str | None = None  # no secret: the subscription's id, name, health and reason
    next_attempt_at: str | None = None


class PendingNotifications(Projection):
    """The notifications whose last attempt left a retry to come: what a start resumes."""

    name = "pending_notifications"
    tables = ("pending_notifications",)
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS pending_notifications (
        id TEXT PRIMARY KEY,
        state BLOB NOT NULL
    )
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        tag = NotificationAttempted.type_name()
        for record in records:
            if record.type != tag:
                continue
            fact = _decode_attempted(record.body)
            if fact.outcome == "retrying" and fact.url is not None and fact.body is not None:
                conn.execute(
                    "INSERT INTO pending_notifications (id, state) VALUES (?, ?) ON CONFLICT (id)"
                    " DO UPDATE SET state = excluded.state",
                    [fact.notification_id, record.body],
                )
            else:
                conn.execute(
                    "DELETE FROM pending_notifications WHERE id = ?", [fact.notification_id]
                )

    @staticmethod
    def all(conn: Any) -> list[NotificationAttempted]:
        """Oldest first: the last attempt of each notification still to be retried."""
        rows = conn.execute("SELECT state FROM pending_notifications ORDER BY id")
        return [_decode_attempted(row[0]) for row in rows]


def kind_of(fact: InternalEvent) -> NotificationKind | None:
    """The notification a health fact makes, if any: a disable an operator made tells nobody."""
    match fact:
        case SubscriptionFailing():
            return "failing"
        case SubscriptionRecovered():
            return "recovered"
        case SubscriptionDisabled(automatic=True):
            return "disabled"
    return None


def payload(kind: NotificationKind, subscription: Subscription, fact: Any, timestamp: str) -> bytes:
    """The body, in the Standard Webhooks shape: `type`, `timestamp`, `data`."""
    data = {
        "subscription_id": subscription.id,
        "name": subscription.fields.name,
        "health": subscription.health,
        "reason": fact.reason,
        "failing_since": subscription.failing_since,
    }
    return _encode({"type": PREFIX + kind, "timestamp": timestamp, "data": data})


_decode_attempted = msgspec.json.Decoder(NotificationAttempted).decode
