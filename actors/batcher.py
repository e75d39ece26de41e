"""The batcher: one actor per subscription. It packs the subscription's events into batches,
seals each in the log, and sends them out in order, one in flight at a time."""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from array import array
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

import msgspec

from signin_webhooks.actors import activity
from signin_webhooks.actors.delivery import Job, Outcome
from signin_webhooks.actors.delivery_queue import DeliveryQueue
from signin_webhooks.actors.pool import DeliveryPool
from signin_webhooks.actors.runtime import Idle, Listener, Runtime
from signin_webhooks.actors.scheduler import Timer
from signin_webhooks.eventstore import SigninWebhooksError, format_time, parse_time
from signin_webhooks.eventstore.deliveries import (
    BatchCancelled,
    BatchSealed,
    Delivery,
    RetryRequested,
    body_size,
    to_ranges,
)
from signin_webhooks.eventstore.endpoints import is_ndjson
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.subscriptions import HEALTH, Subscription

ERROR_BACKOFF = 30.0  # after a failure of our own (not the endpoint's), try again this soon
ERROR_DELAY = dt.timedelta(seconds=ERROR_BACKOFF)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Matched:
    """Events the router matched to this subscription, in the order of the log: their
    sequences, sizes as delivered and recorded_at."""

    sequences: list[int]
    sizes: list[int]
    recorded_at: list[str]


@dataclass(frozen=True)
class Changed:
    """The subscription as it is after a lifecycle event."""

    subscription: Subscription
    kind: str  # the event's type name


@dataclass(frozen=True)
class Flush:
    token: int


@dataclass(frozen=True)
class Reseal:
    """Try again to record sealed batches a storage failure held back."""


@dataclass(frozen=True)
class Due:
    delivery_id: str


@dataclass(frozen=True)
class Retry:
    """An operator's retry: the delivery as history has it after the request."""

    delivery: Delivery


@dataclass(frozen=True)
class Recovered:
    """A batch an operator's `recover` sealed: it goes out after those already waiting."""

    delivery: Delivery


@dataclass(frozen=True)
class Release:
    """Another worker takes the subscription over: nothing more is sealed here, and once the
    attempt in flight (if any) has ended, `done` is called and the batcher stops. The events
    routed here but not sealed are routed again by the next owner, from the history."""

    done: Callable[[], None]


@dataclass
class OpenBatch:
    sequences: array[int] = field(default_factory=lambda: array("q"))
    sizes: int = 0
    oldest: dt.datetime | None = None


class Batcher(Listener):
    def __init__(
        self,
        subscription: Subscription,
        runtime: Runtime,
        pool: DeliveryPool,
        unsettled: list[Delivery],
    ) -> None:
        super().__init__()
        self.sub = subscription
        self.runtime = runtime
        self.pool = pool
        self.open = OpenBatch()
        self.flush_timer: Timer | None = None
        self.flush_token = 0
        self.unrecorded: deque[BatchSealed] = deque()
        self.reseal_timer: Timer | None = None
        self.queue = DeliveryQueue(runtime.recorder, subscription.id, unsettled)
        self.in_flight: str | None = None
        self.rerun = False  # a retry of the delivery in flight was asked for
        self.retry_timer: Timer | None = None
        self.due: tuple[str, float] | None = None  # the head's next attempt, monotonic time
        self.backoff_due: float | None = None  # the end of the backoff, monotonic time
        self.releasing: Callable[[], None] | None = None
        # On PostgreSQL: the lease this batcher delivers under. A lease lost and claimed again
        # is a new token, and a new batcher: this one's attempts are then refused before sending.
        self.lease = None if runtime.leases is None else runtime.leases.started(subscription.id)

    def on_start(self) -> None:
        super().on_start()
        self._send_next()

    def on_stop(self) -> None:
        if self.runtime.leases is not None:
            self.runtime.leases.stopped(self.sub.id, deleted=self.sub.deleted)

    def handle(self, message: object) -> Any:
        match message:
            case Idle():
                return self.in_flight is None
            case Matched():
                self._add(message)
            case Flush(token) if token == self.flush_token:
                self._seal()
                self._record_seals()
            case Reseal():
                self.reseal_timer = None
                self._record_seals()
            case Changed():
                self._change(message)
            case Outcome():
                self._settle(message)
            case Due():
                self.retry_timer = None
                self._send_next()
            case Retry(delivery):
                self._retry(delivery)
            case Recovered(delivery):
                self.queue.append(delivery)
                self._send_next()
            case Release(done):
                self._release(done)

        # -- batching
        return None

    def _body_size(self, count: int, sizes: int) -> int:
        return body_size(count, sizes, is_ndjson(self.sub.fields.content_type))

    def _add(self, matched: Matched) -> None:
        """Add matched events to the open batch, sealing whenever a limit is reached: a run of
        events at a time, as many as fit."""
        max_events, max_bytes = self.sub.fields.max_events, self.sub.fields.max_bytes
        framing = self._body_size(1, 0)  # a body of n events is their sizes + n - 1 + this
        sequences, sizes = matched.sequences, matched.sizes
        # weights[j]: the first j events' sizes, plus one each for the separator before them
        weights = [0, *accumulate(map((1).__add__, sizes))]
        i, n = 0, len(sequences)
        while i < n:
            batch = self.open
            count = len(batch.sequences)
            # Events i..j-1 fit if the open batch's weight, theirs, less one, and the framing do.
            room = max_bytes - framing + 1 - (batch.sizes + count) + weights[i]
            j = min(bisect.bisect_right(weights, room, i, n + 1) - 1, i + max_events - count)
            if j <= i:
                if count:  # the next event does not fit: the batch is full
                    self._seal()
                    continue
                j = i + 1  # an event larger than max_bytes goes alone
            if not count:
                batch.oldest = parse_time(matched.recorded_at[i])
            batch.sequences.extend(sequences[i:j])
            batch.sizes += weights[j] - weights[i] - (j - i)
            if j < n or len(batch.sequences) >= max_events:
                self._seal()
            i = j
        if self.open.sequences:
            self._arm_flush()
        self._record_seals()  # every batch these entries closed, in one transaction

    def _arm_flush(self) -> None:
        if self.flush_timer is not None or self.open.oldest is None:
            return
        interval = self.sub.fields.flush_interval
        # Never longer than the interval from now, whatever the wall clock did since the event.
        wait = min(interval, (self.open.oldest - self.runtime.clock()).total_seconds() + interval)
        if wait <= 0:
            self._seal()
            return
        token, ref = self.flush_token, self.actor_ref
        self.flush_timer = self.runtime.scheduler.after(wait, lambda: ref.tell(Flush(token)))

    def _seal(self) -> None:
        """Close the open batch, whatever closed it, and disarm its flush timer; the caller
        records what was sealed (`_record_seals`)."""
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        self.flush_token += 1
        batch, self.open = self.open, OpenBatch()
        if not batch.sequences:
            return
        self.unrecorded.append(BatchSealed(
            batch_id=short_id("dlv_"),
            subscription_id=self.sub.id,
            ranges=to_ranges(batch.sequences),
            count=len(batch.sequences),
            bytes=self._body_size(len(batch.sequences), batch.sizes),
            ndjson=is_ndjson(self.sub.fields.content_type),
        ))  # fmt: skip

    def _record_seals(self) -> None:
        """Record sealed batches in the log, in order, in one transaction, then send what is
        next. If the store fails (locked, full), they wait here and are recorded later: the
        router has moved past their events."""
        if self.unrecorded:
            seals = list(self.unrecorded)
            try:
                last = self.runtime.recorder.record(*seals)
            except SigninWebhooksError:
                log.exception("recording a batch of %s failed; trying again", self.sub.id)
                self._arm_reseal()
                return
            self.unrecorded.clear()
            sealed_at = format_time(self.runtime.clock())
            first = last - len(seals) + 1  # one transaction's facts have consecutive sequences
            for i, seal in enumerate(seals):
                activity.sealed(seal)
                self.queue.append(Delivery.from_seal(seal, first + i, sealed_at))
        self._send_next()

    def _arm_reseal(self) -> None:
        if self.reseal_timer is None:
            ref = self.actor_ref
            self.reseal_timer = self.runtime.scheduler.after(
                ERROR_BACKOFF, lambda: ref.tell(Reseal())
            )

    # -- delivery, in order, one in flight

    def _send_next(self) -> None:
        if self.in_flight or not self.queue or not self.sub.enabled or self.retry_timer:
            return
        if self.releasing:
            return
        delivery = self.queue.head
        wait = self._wait_for(delivery)
        if wait > 0:
            ref, due_id = self.actor_ref, delivery.id
            self.retry_timer = self.runtime.scheduler.after(wait, lambda: ref.tell(Due(due_id)))
            return
        self.in_flight = delivery.id
        trigger = "retry" if delivery.series_start > 1 else delivery.trigger
        job = Job(self.queue.with_ranges(delivery), self.sub, delivery.attempts + 1, trigger,
                  self.actor_ref, self.lease)  # fmt: skip
        self.pool.submit(job)

    def _wait_for(self, delivery: Delivery) -> float:
        """Seconds until the delivery's next attempt, and the subscription's backoff's end: on
        the monotonic clock when this batcher saw the attempt that set it end, else (after a
        start) from the time in the log."""
        clock, wait = self.runtime.clock, 0.0
        if self.sub.backoff_until is not None:
            if self.backoff_due is not None:
                wait = self.backoff_due - clock.monotonic()
            else:
                wait = (parse_time(self.sub.backoff_until) - clock()).total_seconds()
        if delivery.next_attempt_at is None:
            return wait
        if self.due is not None and self.due[0] == delivery.id:
            return max(wait, self.due[1] - clock.monotonic())
        return max(wait, (parse_time(delivery.next_attempt_at) - clock()).total_seconds())

    def _settle(self, outcome: Outcome) -> None:
        if outcome.delivery_id != self.in_flight:
            return
        self.in_flight = None
        delivery = self.queue.head
        now = format_time(self.runtime.clock())
        if outcome.attempt is None:  # nothing was recorded: the same attempt goes again
            delivery.next_attempt_at = format_time(self.runtime.clock() + ERROR_DELAY)
            self.due = (delivery.id, self.runtime.clock.monotonic() + ERROR_BACKOFF)
        else:
            delivery.evolve(outcome.attempt, now)
            self.due = None if outcome.retry_due is None else (delivery.id, outcome.retry_due)
            self.sub = msgspec.structs.replace(
                self.sub,
                failing_since=outcome.failing_since,
                backoff=outcome.backoff,
                backoff_until=outcome.backoff_until,
            )
            self.backoff_due = outcome.backoff_due
        if outcome.status in ("succeeded", "failed"):
            self.queue.pop()
        if self.rerun:  # a retry asked for while this attempt was in flight
            self.rerun = False
            delivery.evolve(RetryRequested(batch_id=delivery.id, subscription_id=self.sub.id), now)
            if outcome.status in ("succeeded", "failed"):
                self.queue.insert_next(delivery, behind_head=False)
        if outcome.status == "pending":  # 410 Gone or failing too long: disabled in the log
            self.sub = msgspec.structs.replace(self.sub, enabled=False)
        if self.releasing is not None:
            self._hand_back()
            return
        if self.sub.deleted:  # deleted during this attempt, the batcher's last
            try:
                self._cancel_all("subscription deleted")
            finally:
                self.stop()
            return
        self._send_next()

    def _retry(self, delivery: Delivery) -> None:
        """Start a new series of attempts, queued behind the delivery in flight."""
        if delivery.id == self.in_flight:  # once this attempt ends, whatever it comes to
            self.rerun = True
            return
        for queued in self.queue:
            if queued.id == delivery.id:
                request = RetryRequested(batch_id=delivery.id, subscription_id=self.sub.id)
                queued.evolve(request, format_time(self.runtime.clock()))
                break
        else:
            self.queue.insert_next(delivery, behind_head=self.in_flight is not None)
        if self.retry_timer:
            self.retry_timer.cancel()
            self.retry_timer = None
        self._send_next()

    # -- lifecycle

    def _change(self, change: Changed) -> None:
        if change.kind in HEALTH:  # the batcher's own outcomes made it; it knows already
            return
        before, self.sub = self.sub, change.subscription
        if change.kind != "subscription.enabled":  # the router's view of health may be an
            # attempt or two behind the batcher's
            self.sub = msgspec.structs.replace(
                self.sub,
                failing_since=before.failing_since,
                backoff=before.backoff,
                backoff_until=before.backoff_until,
            )
        if change.kind == "subscription.deleted":
            self._cancel_all("subscription deleted")
            if self.in_flight is None:  # else once its attempt ends, in `_settle`
                self.stop()
            return
        if change.kind == "subscription.enabled" and self.sub.start_after > before.start_after:
            self._skip_open()  # enable --from-now: the backlog is skipped
            self._cancel_all("skipped by enable --from-now")
        if before.fields.flush_interval != self.sub.fields.flush_interval and self.flush_timer:
            self.flush_timer.cancel()
            self.flush_timer = None
            self._arm_flush()
        self._record_seals()

    def _release(self, done: Callable[[], None]) -> None:
        self._skip_open()
        if self.retry_timer:
            self.retry_timer.cancel()
            self.retry_timer = None
        self.releasing = done
        if self.in_flight is None:  # else once its attempt ends, in `_settle`
            self._hand_back()

    def _hand_back(self) -> None:
        done, self.releasing = self.releasing, None
        try:
            if done is not None:
                done()
        finally:
            self.stop()

    def _skip_open(self) -> None:
        if self.flush_timer is not None:
            self.flush_timer.cancel()
            self.flush_timer = None
        self.flush_token += 1
        self.open = OpenBatch()
        self.unrecorded.clear()

    def _cancel_all(self, reason: str) -> None:
        """Cancel what is queued; a delivery in flight is cancelled once its attempt ends."""
        cancelled = self.queue.keep_only(self.in_flight)
        if cancelled:
            self.runtime.recorder.record(*[
                BatchCancelled(batch_id=d.id, subscription_id=self.sub.id, reason=reason)
                for d in cancelled
            ])  # fmt: skip
        if self.retry_timer:
            self.retry_timer.cancel()
            self.retry_timer = None
