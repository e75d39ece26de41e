"""The batcher: one actor per subscription. It packs the subscription's events into batches,
seals each in the log, and sends them out in order, one in flight at a time."""

from __future__ import annotations

import datetime as dt
import logging
from array import array
from collections import deque
from dataclasses import dataclass
from typing import Any

import msgspec

from actors.delivery import Job, Outcome
from actors.runtime import Listener, Runtime
from actors.scheduler import Timer
from eventstore import format_time, parse_time
from eventstore.deliveries import BatchCancelled, BatchSealed, Delivery, to_ranges
from eventstore.endpoints import is_ndjson
from eventstore.ids import short_id
from eventstore.subscriptions import Subscription

log = logging.getLogger(__name__)
ERROR_BACKOFF = 30.0  # after a failure of our own (not the endpoint's), try again this soon


@dataclass(frozen=True)
class Matched:
    """Events the router matched to this subscription: (sequence, delivered size, recorded_at)."""

    entries: list[tuple[int, int, str]]


@dataclass(frozen=True)
class Changed:
    """The subscription as it is after a lifecycle event at `sequence`."""

    subscription: Subscription
    kind: str  # the event's type name
    sequence: int


@dataclass(frozen=True)
class Flush:
    token: int


@dataclass(frozen=True)
class Due:
    delivery_id: str


@dataclass(frozen=True)
class Queued:
    """An operator's request (retry, recover): deliveries to send after those queued."""

    deliveries: list[Delivery]
    trigger: str


class Batcher(Listener):
    def __init__(
        self, subscription: Subscription, runtime: Runtime, pool: Any, unsettled: list[Delivery]
    ) -> None:
        super().__init__()
        self.sub = subscription
        self.runtime = runtime
        self.pool = pool
        self.open = array("q")
        self.open_bytes = 0
        self.oldest: dt.datetime | None = None
        self.flush_timer: Timer | None = None
        self.flush_token = 0
        self.queue: deque[tuple[Delivery, str]] = deque((d, "schedule") for d in unsettled)
        self.in_flight: str | None = None
        self.retry_timer: Timer | None = None

    def on_start(self) -> None:
        self._send_next()

    def handle(self, message: Any) -> None:
        match message:
            case Matched(entries):
                self._add(entries)
            case Flush(token) if token == self.flush_token:
                self._seal()
            case Changed():
                self._change(message)
            case Outcome():
                self._settle(message)
            case Due():
                self.retry_timer = None
                self._send_next()
            case Queued(deliveries, trigger):
                self.queue.extend((d, trigger) for d in deliveries)
                self._send_next()

    # -- batching

    def _limits(self) -> tuple[int, int]:
        return self.sub.fields.max_events, self.sub.fields.max_bytes

    def _body_size(self, count: int, sizes: int) -> int:
        framing = count if is_ndjson(self.sub.fields.content_type) else count + 1
        return sizes + framing

    def _add(self, entries: list[tuple[int, int, str]]) -> None:
        max_events, max_bytes = self._limits()
        for sequence, size, recorded_at in entries:
            if (
                self.open
                and self._body_size(len(self.open) + 1, self.open_bytes + size) > max_bytes
            ):
                self._seal()
            if not self.open:
                self.oldest = parse_time(recorded_at)
            self.open.append(sequence)
            self.open_bytes += size
            if len(self.open) >= max_events:
                self._seal()
        if self.open:
            self._arm_flush()

    def _arm_flush(self) -> None:
        if self.flush_timer is not None or self.oldest is None:
            return
        due = self.oldest + dt.timedelta(seconds=self.sub.fields.flush_interval)
        if due <= self.runtime.clock():
            self._seal()
            return
        token = self.flush_token
        ref = self.actor_ref
        self.flush_timer = self.runtime.scheduler.at(due, lambda: ref.tell(Flush(token)))

    def _seal(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        self.flush_token += 1
        if not self.open:
            return
        ndjson = is_ndjson(self.sub.fields.content_type)
        event = BatchSealed(
            batch_id=short_id("dlv_"),
            subscription_id=self.sub.id,
            ranges=to_ranges(self.open),
            count=len(self.open),
            bytes=self._body_size(len(self.open), self.open_bytes),
            ndjson=ndjson,
        )
        sequence = self.runtime.recorder.record(event)
        self.queue.append((_delivery(event, sequence, self.runtime.clock()), "schedule"))
        self.open = array("q")
        self.open_bytes = 0
        self.oldest = None
        self._send_next()

    # -- delivery, in order, one in flight

    def _send_next(self) -> None:
        if self.in_flight or not self.queue or not self.sub.enabled or self.retry_timer:
            return
        delivery, trigger = self.queue[0]
        if delivery.next_attempt_at is not None:
            due = parse_time(delivery.next_attempt_at)
            if due > self.runtime.clock():
                ref, delivery_id = self.actor_ref, delivery.id
                self.retry_timer = self.runtime.scheduler.at(
                    due, lambda: ref.tell(Due(delivery_id))
                )
                return
        self.in_flight = delivery.id
        self.pool.tell(Job(delivery, self.sub, delivery.attempts + 1, trigger, self.actor_ref))

    def _settle(self, outcome: Outcome) -> None:
        if outcome.delivery_id != self.in_flight:
            return
        self.in_flight = None
        delivery = self.queue[0][0]
        delivery.attempts += 1
        if outcome.status in ("succeeded", "failed"):
            self.queue.popleft()
        elif outcome.status == "error":
            delivery.attempts -= 1  # nothing was recorded: the same attempt goes again
            retry_at = self.runtime.clock() + dt.timedelta(seconds=ERROR_BACKOFF)
            delivery.next_attempt_at = format_time(retry_at)
        else:
            delivery.next_attempt_at = (
                None if outcome.next_attempt_at is None else format_time(outcome.next_attempt_at)
            )
        if outcome.status == "pending":  # 410 Gone: disabled in the log; the router confirms
            self.sub = msgspec.structs.replace(self.sub, enabled=False)
        if self.sub.deleted:
            self._cancel_all("subscription deleted")
        self._send_next()

    # -- lifecycle

    def _change(self, change: Changed) -> None:
        before, self.sub = self.sub, change.subscription
        if change.kind == "subscription.deleted":
            self._cancel_all("subscription deleted")
            self.stop()
            return
        if change.kind == "subscription.enabled" and self.sub.start_after > before.start_after:
            self.open, self.open_bytes, self.oldest = array("q"), 0, None  # enable --from-now
            self._cancel_all("skipped by enable --from-now")
        if before.fields.flush_interval != self.sub.fields.flush_interval and self.flush_timer:
            self.flush_timer.cancel()
            self.flush_timer = None
            self._arm_flush()
        self._send_next()

    def _cancel_all(self, reason: str) -> None:
        """Cancel what is queued; a delivery in flight is cancelled once its attempt ends."""
        keep = [item for item in self.queue if item[0].id == self.in_flight]
        cancelled = [d for d, _ in self.queue if d.id != self.in_flight]
        if cancelled:
            self.runtime.recorder.record(*[
                BatchCancelled(batch_id=d.id, subscription_id=self.sub.id, reason=reason)
                for d in cancelled
            ])  # fmt: skip
        self.queue = deque(keep)
        if self.retry_timer:
            self.retry_timer.cancel()
            self.retry_timer = None


def _delivery(event: BatchSealed, sequence: int, now: dt.datetime) -> Delivery:
    return Delivery(
        id=event.batch_id,
        subscription_id=event.subscription_id,
        status="pending",
        trigger=event.trigger,
        count=event.count,
        bytes=event.bytes,
        first_sequence=event.ranges[0][0],
        last_sequence=event.ranges[-1][0] + event.ranges[-1][1] - 1,
        ndjson=event.ndjson,
        ranges=event.ranges,
        sealed_at=format_time(now),
        sealed_sequence=sequence,
    )


