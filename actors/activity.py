"""What the running system does, one log line per fact: each attempt, seal, change of health and
retention run, at info on the `signin_webhooks.activity` logger.

A line names ids, counts, statuses, error kinds and durations, never a URL, a header, a body or a
secret: those are in the delivery history, for whoever may read it.
"""

from __future__ import annotations

import logging
from typing import Any

from signin_webhooks.actors import metrics
from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchSealed
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.retention import RetentionReport

log = logging.getLogger("signin_webhooks.activity")


def report(event: str, **fields: Any) -> None:
    """One line at info: the event's name and its fields (kept whole for the JSON format)."""
    if log.isEnabledFor(logging.INFO):
        log.info(event, extra={"activity": {"event": event, **fields}})


def attempted(attempt: AttemptRecorded, events: int) -> None:
    """`events`: how many the delivery holds (counted as delivered once it succeeds)."""
    metrics.ATTEMPTS.labels(attempt.outcome, attempt.error_kind or "none").inc()
    metrics.ATTEMPT_SECONDS.observe(attempt.duration)
    if attempt.outcome == "succeeded" and attempt.trigger != "test":
        metrics.DELIVERED.inc(events)
    report(
        "attempt",
        delivery=attempt.batch_id,
        subscription=attempt.subscription_id,
        attempt=attempt.attempt,
        trigger=attempt.trigger,
        result="ok" if attempt.error_kind is None else attempt.error_kind,
        status=attempt.status,
        duration=format_duration(attempt.duration),
        outcome=attempt.outcome,
        next_attempt_at=attempt.next_attempt_at,
    )


def sealed(seal: BatchSealed) -> None:
    metrics.SEALS.inc()
    report(
        "seal",
        delivery=seal.batch_id,
        subscription=seal.subscription_id,
        trigger=seal.trigger,
        events=seal.count,
        bytes=seal.bytes,
        first_sequence=seal.first_sequence,
        last_sequence=seal.last_sequence,
    )


def routed(events: int) -> None:
    metrics.ROUTED.inc(events)


def health_changed(event: str, subscription_id: str, **fields: Any) -> None:
    """`failing`, `recovered`, `disabled`, `enabled`, `backed_off` or `backoff_ended`, as the
    running system learns of it."""
    report(event, subscription=subscription_id, **fields)


def retention_ran(result: RetentionReport) -> None:
    report(
        "retention",
        expired_deliveries=result.expired_deliveries,
        settled_before=result.settled_before,
        compacted_events=result.compacted_events,
        compacted_through_sequence=result.compacted_through,
        expired_idempotency_keys=result.expired_idempotency_keys,
    )
