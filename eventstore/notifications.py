"""Operational notifications: what an operations endpoint is told when a subscription's health
changes (`signin_webhooks.subscription.failing`, `.disabled`, `.recovered`), and the record of
each attempt to tell it."""

from __future__ import annotations

from typing import Any

import msgspec

from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.subscriptions import (
    Subscription,
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
)

PREFIX = "signin_webhooks.subscription."
_encode = msgspec.json.Encoder().encode


class NotificationAttempted(InternalEvent, frozen=True, tag="notification.attempted"):
    """One POST of a notification to an operations endpoint; `outcome`: sent, retrying, failed."""

    notification_id: str
    subscription_id: str
    kind: str
    attempt: int
    status: int | None
    error_kind: str | None
    outcome: str


def kind_of(fact: InternalEvent) -> str | None:
    """The notification a health fact makes, if any: a disable an operator made tells nobody."""
    match fact:
        case SubscriptionFailing():
            return "failing"
        case SubscriptionRecovered():
            return "recovered"
        case SubscriptionDisabled(automatic=True):
            return "disabled"
    return None


def payload(kind: str, subscription: Subscription, fact: Any, timestamp: str) -> bytes:
    """The body, in the Standard Webhooks shape: `type`, `timestamp`, `data`."""
    data = {
        "subscription_id": subscription.id,
        "name": subscription.fields.name,
        "health": subscription.health,
        "reason": fact.reason,
        "failing_since": subscription.failing_since,
    }
    return _encode({"type": PREFIX + kind, "timestamp": timestamp, "data": data})
