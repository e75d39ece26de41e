"""One delivery attempt: build the body from the log, sign it, POST it, record what happened."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec
import pykka

from signin_webhooks.actors import activity, metrics
from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.connections import Abandoned
from signin_webhooks.actors.pool import DeliveryPool, Turn
from signin_webhooks.actors.runtime import Listener, Readers, Recorder
from signin_webhooks.actors.signing import sign
from signin_webhooks.actors.transport import Attempt, Transport
from signin_webhooks.eventstore import InternalEvent, Store, format_time, parse_time
from signin_webhooks.eventstore.backoff import backs_off, pace
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from signin_webhooks.eventstore.errors import StoreError
from signin_webhooks.eventstore.health import transitions
from signin_webhooks.eventstore.leases import LeaseLost
from signin_webhooks.eventstore.settings import InstallationSettings, Settings
from signin_webhooks.eventstore.statuses import DeliveryStatus, Trigger
from signin_webhooks.eventstore.subscriptions import (
    REDACTED,
    Subscription,
    SubscriptionBackedOff,
    SubscriptionBackoffEnded,
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
)

if TYPE_CHECKING:  # the batcher hands out jobs: it imports this module
    from signin_webhooks.actors.batcher import Batcher

VERSION = importlib.metadata.version("signin-webhooks")
USER_AGENT = f"signin-webhooks/{VERSION}"
RETRY_AFTER_CAP = 3600.0
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """Deliver `delivery` once, as `subscription` is configured now; tell `reply_to` after."""

    delivery: Delivery
    subscription: Subscription
    attempt: int
    trigger: Trigger
    reply_to: pykka.ActorRef[Batcher] | None = None
    lease: int | None = None  # on PostgreSQL, the fencing token its batcher started under


@dataclass(frozen=True)
class Outcome:
    """What came of a job: the attempt as recorded, or None if nothing could be recorded (an
    error of our own: the same attempt goes again later)."""

    delivery_id: str
    attempt: AttemptRecorded | None = None
    retry_due: float | None = None  # the attempt's next_attempt_at on the clock's monotonic time
    failing_since: str | None = None  # the subscription's health after the attempt
    backoff: float = 0.0  # the subscription's pace after the attempt
    backoff_until: str | None = None
    backoff_due: float | None = None  # backoff_until on the clock's monotonic time

    @property
    def status(self) -> DeliveryStatus | Literal["error"]:
        """succeeded | retrying | failed | pending (waits for enable) | error (nothing recorded)"""
        return "error" if self.attempt is None else self.attempt.outcome


def batch_body(store: Store, delivery: Delivery) -> bytes:
    """The exact body of a delivery, rebuilt from the log: the same bytes on every attempt."""
    if delivery.body is not None:
        return delivery.body.encode()
    sequences = list(delivery.sequences())
    with store.errors():
        events = store.log.delivered(sequences)
    if len(events) != len(sequences):
        raise StoreError(f"delivery {delivery.id}: events missing from the log")
    if delivery.ndjson:
        return b"\n".join(events) + b"\n" if events else b""
    return b"[" + b",".join(events) + b"]"


def request_headers(
    subscription: Subscription, webhook_id: str, now: dt.datetime, body: bytes
) -> dict[str, str]:
    timestamp = int(now.timestamp())
    fields = subscription.fields
    return {
        "Content-Type": fields.content_type,
        "User-Agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(subscription.valid_secrets(now), webhook_id, timestamp, body),
        **fields.headers,
    }


def redact(headers: dict[str, str], subscription: Subscription) -> dict[str, str]:
    secret_names = {*subscription.fields.headers, "webhook-signature"}
    return {k: REDACTED if k in secret_names else v for k, v in headers.items()}


def next_attempt(
    subscription: Subscription,
    attempt: int,
    result: Attempt,
    now: dt.datetime,
    stretch: float = 1.0,
    backoff_until: str | None = None,
) -> dt.datetime | None:
    """When to try again after the `attempt`th failure of a series, or None: failed for good.
    `stretch` is the jitter's factor on the schedule's delay (1 and up); never before a
    Retry-After, nor before the subscription's backoff ends."""
    schedule = subscription.fields.retry_schedule
    if not 1 <= attempt <= len(schedule):
        return None
    delay = schedule[attempt - 1] * stretch
    if result.retry_after is not None and result.status in (429, 503):
        delay = max(delay, min(result.retry_after, RETRY_AFTER_CAP))
    due = now + dt.timedelta(seconds=delay)
    if backoff_until is not None:
        due = max(due, parse_time(backoff_until))
    return due


class Deliverer:
    """Makes attempts and records each one; usable from an actor or the calling process."""

    def __init__(
        self, readers: Readers, recorder: Recorder, transport: Transport, clock: SystemClock
    ):
        self.readers = readers
        self.recorder = recorder
        self.transport = transport
        self.clock = clock

    def deliver(self, job: Job, since: float | None = None) -> Outcome:
        """Make the attempt; `since`, when it waited for its turn since then (monotonic time),
        counts towards its `timeout`."""
        sub, delivery = job.subscription, job.delivery
        with self.readers.borrow() as store:
            body = batch_body(store, delivery)
            started = self.clock()
            with store.errors():
                opened = sub.opened(store.keyring, started)  # secrets in plaintext, here only
        headers = request_headers(opened, delivery.id, started, body)
        if self.recorder.fence is not None:  # the lease outlasts the attempt, or none is made
            self.recorder.fence.ready(sub.id, job.lease, sub.fields.timeout)
        result = self.transport.post(sub.fields.url, body, headers, sub.fields.timeout, since)
        now, elapsed = self.clock(), self.clock.monotonic()
        extra: list[InternalEvent] = []
        next_at = None
        settings = self._settings() if not result.succeeded else None
        stretch = 1.0 + (settings.retry_jitter * self.clock.random() if settings else 0.0)
        if result.status == 410 and not sub.deleted:
            extra.append(SubscriptionDisabled(
                subscription_id=sub.id, reason=f"endpoint answered 410 Gone ({delivery.id})",
                automatic=True,
            ))  # fmt: skip
        status: DeliveryStatus
        if result.succeeded:
            status = "succeeded"
        elif job.trigger == "test":
            status = "failed"  # a test is one attempt, outside the order: never left pending
        elif result.status == 410:
            status = "pending"  # waits for the subscription to be enabled again
        else:
            status = "retrying"  # for the pace; settled below
        attempt = self._attempt(job, started, headers, result, status)
        paced = pace(sub, attempt, backs_off(result.status, result.retry_after), now, stretch)
        backoff, backoff_until = sub.backoff, sub.backoff_until
        for fact in paced:
            if isinstance(fact, SubscriptionBackedOff):
                backoff, backoff_until = fact.backoff, fact.until
            elif isinstance(fact, SubscriptionBackoffEnded):
                backoff, backoff_until = 0.0, None
        if status == "retrying":
            number = job.attempt - delivery.series_start + 1
            next_at = next_attempt(sub, number, result, now, stretch, backoff_until)
            status = "failed" if next_at is None else "retrying"
        planned = None if next_at is None else format_time(next_at)  # kept across a restart
        attempt = msgspec.structs.replace(attempt, outcome=status, next_attempt_at=planned)
        health = self._health(sub, attempt, now, settings)
        if any(isinstance(fact, SubscriptionDisabled) for fact in health):
            status, next_at = "pending", None  # failing too long: waits for enable
            attempt = msgspec.structs.replace(attempt, outcome=status, next_attempt_at=None)
        self.recorder.record(attempt, *health, *paced, *extra)
        activity.attempted(attempt, delivery.count)
        failing_since = sub.failing_since
        for fact in health:
            if isinstance(fact, SubscriptionFailing):
                failing_since = fact.since
            elif isinstance(fact, SubscriptionRecovered):
                failing_since = None
        due = None if next_at is None else elapsed + (next_at - now).total_seconds()
        backoff_due = None
        if backoff_until is not None:
            backoff_due = elapsed + (parse_time(backoff_until) - now).total_seconds()
        return Outcome(
            delivery.id, attempt, due, failing_since, backoff, backoff_until, backoff_due
        )

    def _attempt(
        self,
        job: Job,
        started: dt.datetime,
        headers: dict[str, str],
        result: Attempt,
        status: DeliveryStatus,
    ) -> AttemptRecorded:
        """The attempt as it will be recorded, but for when it goes again."""
        sub, delivery = job.subscription, job.delivery
        return AttemptRecorded(
            batch_id=delivery.id,
            subscription_id=sub.id,
            attempt=job.attempt,
            trigger=job.trigger,
            started_at=format_time(started),
            duration=round(result.duration, 6) if math.isfinite(result.duration) else 0.0,
            url=sub.fields.url,
            request_headers=redact(headers, sub),
            status=result.status,
            response_headers=result.response_headers,
            response_body=result.response_body.decode("utf-8", errors="replace"),
            error_kind=result.error_kind,
            error=result.error,
            outcome=status,
            next_attempt_at=None,
        )

    def _settings(self) -> Settings:
        """The settings as they are now (read only after a failure: a success needs none)."""
        with self.readers.borrow() as store, store.errors():
            return InstallationSettings.current(store.project(InstallationSettings()))

    def _health(
        self,
        sub: Subscription,
        attempt: AttemptRecorded,
        now: dt.datetime,
        settings: Settings | None,
    ) -> list[InternalEvent]:
        limit = sub.fields.auto_disable_after
        if limit is None and settings is not None:  # the installation's, after a failure
            limit = settings.auto_disable_after
        return transitions(sub, attempt, now, limit or 0)


class DeliveryActor(Listener):
    """One member of the delivery pool: one attempt at a time, telling the batcher what came of
    each; then it makes the next one waiting for the same endpoint, or goes back to the pool."""

    def __init__(
        self, deliverer: Deliverer, pool: DeliveryPool, stopping: threading.Event | None = None
    ) -> None:
        super().__init__()
        self.deliverer = deliverer
        self.pool = pool
        self.stopping = stopping or threading.Event()

    def handle(self, turn: Turn) -> None:
        current: Turn | None = turn
        while current is not None:
            job = current.job
            if self.stopping.is_set():  # no new attempt once stopping: it stays pending in the log
                current = self.pool.next(self.actor_ref, current)
                continue
            outcome = self._attempt(current)
            current = self.pool.next(self.actor_ref, current)
            # While the system stops, the batcher may be gone already; the attempt is in the
            # log, and the next start carries on from there.
            if job.reply_to is not None:
                with contextlib.suppress(pykka.ActorDeadError):
                    job.reply_to.tell(outcome)

    def _attempt(self, turn: Turn) -> Outcome:
        job = turn.job
        metrics.POOL_IN_USE.inc()
        try:
            return self.deliverer.deliver(job, since=turn.since)
        except Abandoned:
            pass  # the system is stopping and nothing was sent: it stays pending in the log
        except LeaseLost as e:  # nothing was sent: the subscription's new owner sends it
            log.warning("%s; %s is not sent from here", e, job.delivery.id)
        except Exception:
            log.exception("the attempt at %s failed", job.delivery.id)
        finally:
            metrics.POOL_IN_USE.dec()
        return Outcome(job.delivery.id)  # nothing recorded: the batcher tries again later
