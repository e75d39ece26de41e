"""Endpoint health: what one attempt does to a subscription's health, as facts for the log.

healthy -> failing (an attempt failed, no success since) -> disabled (still failing once it has
been failing for `auto_disable_after`; 0 never disables). A success returns it to healthy. Test
deliveries never change health: they are the operator's probe, not the endpoint's track record.
"""

from __future__ import annotations

import datetime as dt

from signin_webhooks.eventstore.deliveries import AttemptRecorded
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.subscriptions import (
    Subscription,
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
)
from signin_webhooks.eventstore.times import parse_time


def failure(attempt: AttemptRecorded) -> str:
    """What went wrong, in words that never hold a secret: the status or the error kind."""
    if attempt.status is not None:
        return f"HTTP {attempt.status}"
    return attempt.error_kind or "error"


def transitions(
    subscription: Subscription, attempt: AttemptRecorded, now: dt.datetime, limit: float
) -> list[InternalEvent]:
    """The health facts one recorded attempt makes true, to record beside it; `limit` is the
    auto_disable_after in force (the subscription's own, else the installation's)."""
    if attempt.trigger == "test" or subscription.deleted:
        return []
    where = f"{attempt.batch_id} attempt {attempt.attempt}"
    if attempt.outcome == "succeeded":
        if subscription.failing_since is None:
            return []
        return [SubscriptionRecovered(
            subscription_id=subscription.id, reason=f"{where} succeeded"
        )]  # fmt: skip
    found: list[InternalEvent] = []
    since = subscription.failing_since
    if since is None:
        since = attempt.started_at
        found.append(SubscriptionFailing(
            subscription_id=subscription.id, since=since, reason=f"{where}: {failure(attempt)}"
        ))  # fmt: skip
    failing_for = (now - parse_time(since)).total_seconds()
    if subscription.enabled and limit > 0 and failing_for >= limit and attempt.status != 410:
        found.append(SubscriptionDisabled(
            subscription_id=subscription.id,
            reason=f"failing since {since}, longer than auto_disable_after"
            f" {format_duration(limit)} ({where}: {failure(attempt)})",
            automatic=True,
        ))  # fmt: skip
    return found
