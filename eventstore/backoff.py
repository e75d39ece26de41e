"""Pace: an endpoint that says it is overloaded slows its whole subscription down.

A 502 or 504 (a gateway that found nothing healthy behind it) and a 429 without Retry-After (too
many requests, with no word on when to come back) back the subscription off: no attempt of it,
retry or next batch, starts before `backoff_until`. The backoff starts at the first step of its
retry schedule and doubles with each such answer, up to an hour; a success ends it. A 429 or 503
with Retry-After says when to come back, and only that retry waits for it. Test deliveries are
the operator's probe: they neither back off nor end a backoff.
"""

from __future__ import annotations

import datetime as dt

from signin_webhooks.eventstore.deliveries import AttemptRecorded
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.subscriptions import (
    Subscription,
    SubscriptionBackedOff,
    SubscriptionBackoffEnded,
)
from signin_webhooks.eventstore.times import format_time

BACKOFF_CAP = 3600.0  # the longest backoff, as the longest Retry-After honoured


def backs_off(status: int | None, retry_after: float | None) -> bool:
    """Whether an answer asks the sender to slow down without saying for how long."""
    return status in (502, 504) or (status == 429 and retry_after is None)


def next_backoff(subscription: Subscription) -> float:
    first = subscription.fields.retry_schedule[0]  # never empty
    return min(BACKOFF_CAP, max(first, subscription.backoff * 2))


def pace(
    subscription: Subscription,
    attempt: AttemptRecorded,
    backing_off: bool,
    now: dt.datetime,
    stretch: float = 1.0,
) -> list[InternalEvent]:
    """The pace facts one recorded attempt makes true, to record beside it; `backing_off`: its
    answer asks to slow down (`backs_off`); `stretch`: the jitter's factor, 1 and up."""
    if attempt.trigger == "test" or subscription.deleted:
        return []
    where = f"{attempt.batch_id} attempt {attempt.attempt}"
    if attempt.outcome == "succeeded":
        if subscription.backoff_until is None:
            return []
        return [SubscriptionBackoffEnded(
            subscription_id=subscription.id, reason=f"{where} succeeded"
        )]  # fmt: skip
    if not backing_off:
        return []
    backoff = next_backoff(subscription)
    until = now + dt.timedelta(seconds=backoff * stretch)
    return [SubscriptionBackedOff(
        subscription_id=subscription.id,
        backoff=backoff,
        until=format_time(until),
        reason=f"{where}: HTTP {attempt.status}, backing off {format_duration(backoff)}",
    )]  # fmt: skip
