"""Changes of deliveries as the log records them: a batch sealed, an attempt made, a retry asked
for, a delivery cancelled. What `deliveries list --follow` prints, read from the log alone, so it
works from any process beside the one that delivers."""

from __future__ import annotations

import msgspec

from signin_webhooks.eventstore.deliveries import (
    AttemptRecorded,
    BatchCancelled,
    BatchSealed,
    RetryRequested,
)
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.health import failure
from signin_webhooks.eventstore.log import Filter, Record
from signin_webhooks.eventstore.statuses import DeliveryStatus

TYPES = tuple(
    cls.type_name() for cls in (BatchSealed, AttemptRecorded, RetryRequested, BatchCancelled)
)
FILTER = Filter(types=TYPES)


class DeliveryChange(msgspec.Struct, frozen=True, kw_only=True):
    """One change of one delivery: `status` is the delivery's status after it."""

    sequence: int
    recorded_at: str
    delivery_id: str
    subscription_id: str
    status: DeliveryStatus
    change: str  # sealed | attempted | retry_requested | cancelled
    detail: str  # in words, never a secret: a status, an error kind, a reason


def change_of(record: Record) -> DeliveryChange | None:
    """The change a record makes to a delivery, if it makes one."""
    event = record.event()
    status: DeliveryStatus
    match event:
        case BatchSealed():
            status, change = "pending", "sealed"
            detail = f"{event.count} events, {event.bytes} bytes ({event.trigger})"
        case AttemptRecorded():
            status, change = event.outcome, "attempted"
            detail = f"attempt {event.attempt} ({event.trigger}): {failure(event)}"
            detail += f" in {format_duration(event.duration)}"
            if event.next_attempt_at is not None:
                detail += f"; next at {event.next_attempt_at}"
        case RetryRequested():
            status, change, detail = "pending", "retry_requested", "retry requested"
        case BatchCancelled():
            status, change, detail = "cancelled", "cancelled", event.reason
        case _:
            return None
    return DeliveryChange(
        sequence=record.sequence,
        recorded_at=record.recorded_at,
        delivery_id=event.batch_id,
        subscription_id=event.subscription_id,
        status=status,
        change=change,
        detail=detail,
    )
