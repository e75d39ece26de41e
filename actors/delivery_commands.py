"""Delivery history and the operator's tools: inspect, retry, test, recover, retention, status."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from signin_webhooks.actors.addresses import Resolver
from signin_webhooks.actors.delivery import Deliverer, Job, batch_body
from signin_webhooks.actors.runlock import holder
from signin_webhooks.actors.runtime import Recorder
from signin_webhooks.actors.transport import Transport
from signin_webhooks.eventstore import (
    CATALOGUE,
    EVENT_TYPES,
    Filter,
    InvalidInput,
    NotFound,
    Store,
    format_time,
    parse_time,
)
from signin_webhooks.eventstore.deliveries import (
    STATUSES,
    AttemptRecorded,
    BatchSealed,
    Delivery,
    DeliveryHistory,
    RetryRequested,
    pack,
    to_ranges,
)
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.endpoints import is_ndjson
from signin_webhooks.eventstore.ids import new_ids, short_id
from signin_webhooks.eventstore.retention import RetentionReport, run_retention
from signin_webhooks.eventstore.settings import Settings
from signin_webhooks.eventstore.subscription_fields import matches
from signin_webhooks.eventstore.subscriptions import Subscription


@dataclass(frozen=True)
class Requested:
    """An operator request recorded in the log; `waits` when no `run` is up to carry it out."""

    sequence: int
    waits: bool


class DeliveryCommands:
    """Part of WebhookSystem: delivery history and the operator's tools."""

    store: Store
    path: str | os.PathLike[str]
    resolver: Resolver
    clock: Callable[[], dt.datetime]
    subscription: Callable[..., Subscription]
    settings: Callable[[], Settings]
    allow_private_networks: Callable[[], bool]
    wake: Callable[[], None]

    def deliveries(
        self, *, subscription_id: str | None = None, status: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        """Newest first."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"--status {status!r} is not one of {', '.join(STATUSES)}")
        conn = self.store.project(DeliveryHistory())
        sql, args = "SELECT state FROM deliveries WHERE 1", []
        if subscription_id is not None:
            sql, args = sql + " AND subscription_id = ?", [*args, subscription_id]
        if status is not None:
            sql, args = sql + " AND status = ?", [*args, status]
        rows = conn.execute(sql + " ORDER BY sealed_at DESC, id DESC LIMIT ?", [*args, limit])
        return [DeliveryHistory.decode(row[0]) for row in rows]

    def delivery(self, delivery_id: str) -> tuple[Delivery, list[AttemptRecorded]]:
        conn = self.store.project(DeliveryHistory())
        found = DeliveryHistory.get(conn, delivery_id)
        if found is None:
            raise NotFound(
                f"no delivery {delivery_id!r} (expired after the retention period, or never"
                " made); `deliveries list` shows the ids"
            )
        return found, DeliveryHistory.attempts(conn, delivery_id)

    def delivery_body(self, delivery: Delivery) -> bytes:
        """The exact body sent, rebuilt from the log."""
        return batch_body(self.store, delivery)

    def retry_delivery(self, delivery_id: str, *, force: bool = False) -> Requested:
        """Send a delivery again now, under the same webhook-id, in a new series of attempts."""
        delivery, _ = self.delivery(delivery_id)
        sub = self.subscription(delivery.subscription_id)
        if delivery.trigger == "test":
            raise InvalidInput("a test delivery is not retried; run `subscriptions test` again")
        if delivery.status in ("pending", "retrying", "succeeded") and not force:
            raise InvalidInput(
                f"delivery {delivery_id} is {delivery.status}; retry it anyway with --force"
            )
        return self._request(RetryRequested(batch_id=delivery.id, subscription_id=sub.id))

    def recover(
        self,
        subscription_id: str,
        *,
        since: str | dt.datetime,
        until: str | dt.datetime | None = None,
        dry_run: bool = False,
    ) -> tuple[int, Requested | None]:
        """Re-send the subscription's events recorded in [since, until) in new batches; returns
        how many events that is, and the request (None for a dry run)."""
        sub = self.subscription(subscription_id)
        start = format_time(parse_time(since, what="--since"))
        end = None if until is None else format_time(parse_time(until, what="--until"))
        if end is not None and end <= start:
            raise InvalidInput("--until must be later than --since")
        window = Filter(types=sub.fields.events, since=start, until=end, **_scope(sub))  # type: ignore[arg-type]
        entries = ((r.sequence, r.delivered_size()) for r in self.store.log.read(filter=window))
        if dry_run:
            return sum(1 for _ in entries), None
        ndjson = is_ndjson(sub.fields.content_type)
        limits = {"max_events": sub.fields.max_events, "max_bytes": sub.fields.max_bytes}
        seals = [
            BatchSealed(batch_id=short_id("dlv_"), subscription_id=sub.id,
                        ranges=to_ranges(sequences), count=len(sequences), bytes=size,
                        ndjson=ndjson, trigger="recover")
            for sequences, size in pack(entries, ndjson=ndjson, **limits)
        ]  # fmt: skip
        count = sum(seal.count for seal in seals)
        return count, self._request(*seals) if seals else None

    def test_subscription(
        self, subscription_id: str, *, event_type: str | None = None
    ) -> tuple[Delivery, AttemptRecorded]:
        """Send one synthetic event now, from this process, outside the batches."""
        sub = self.subscription(subscription_id)
        event_type = event_type or next(t for t in EVENT_TYPES if matches(sub.fields.events, t))
        if event_type not in CATALOGUE:
            raise InvalidInput(f"--type {event_type!r} is not an event type; see `catalogue`")
        body = _synthetic(sub, event_type, self.clock())
        framed = body + b"\n" if is_ndjson(sub.fields.content_type) else b"[" + body + b"]"
        seal = BatchSealed(
            batch_id=short_id("dlv_"),
            subscription_id=sub.id,
            ranges=[],
            count=1,
            bytes=len(framed),
            ndjson=framed.endswith(b"\n"),
            trigger="test",
            body=framed.decode(),
        )
        recorder = Recorder(self.store)
        recorder.record(seal)
        delivery = self.delivery(seal.batch_id)[0]
        with Transport(resolver=self.resolver, allow_private=self.allow_private_networks()) as t:
            Deliverer(self.store, recorder, t, self.clock).deliver(Job(delivery, sub, 1, "test"))
        delivery, attempts = self.delivery(seal.batch_id)
        return delivery, attempts[-1]

    def retention(self, *, dry_run: bool = False) -> RetentionReport:
        return run_retention(self.store, self.clock(), dry_run=dry_run)

    def status(self) -> list[dict[str, Any]]:
        """Per subscription: backlog, age of the oldest undelivered event, last success, and
        since when it has been failing."""
        conn = self.store.project(DeliveryHistory())
        positions = DeliveryHistory.batched_positions(conn)
        now = self.clock()
        rows = []
        for sub in self.subscriptions():  # type: ignore[attr-defined]
            unsettled = DeliveryHistory.unsettled(conn, sub.id)
            after = max(sub.start_after, positions.get(sub.id, 0))
            unbatched, first_unbatched = 0, None
            for record in self.store.log.read(after, filter=_window(sub)):
                unbatched += 1
                first_unbatched = first_unbatched or record.recorded_at
            firsts = [self._recorded_at(d.first_sequence) for d in unsettled[:1]]
            oldest = [t for t in (*firsts, first_unbatched) if t]
            last_success, failing_since = self._health(conn, sub.id)
            rows.append({
                "subscription_id": sub.id,
                "name": sub.fields.name,
                "state": "enabled" if sub.enabled else "disabled",
                "backlog": sum(d.count for d in unsettled) + unbatched,
                "oldest_undelivered_age": (
                    format_duration((now - parse_time(min(oldest))).total_seconds())
                    if oldest else None
                ),
                "last_success": last_success,
                "failing_since": failing_since,
            })  # fmt: skip
        return rows

    def _recorded_at(self, sequence: int) -> str | None:
        row = self.store.db.conn.execute(
            "SELECT recorded_at FROM events WHERE sequence = ?", [sequence]
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def _health(conn: Any, subscription_id: str) -> tuple[str | None, str | None]:
        """The last success, and the first failure since it while the latest attempt failed."""
        rows = conn.execute(
            "SELECT a.body FROM attempts a JOIN deliveries d ON d.id = a.delivery_id"
            " WHERE d.subscription_id = ? ORDER BY a.sequence DESC LIMIT 1000",
            [subscription_id],
        ).fetchall()
        failing_since = None
        for (body,) in rows:
            attempt = msgspec.json.decode(body, type=AttemptRecorded)
            if attempt.error_kind is None:
                return attempt.started_at, failing_since
            failing_since = attempt.started_at
        return None, failing_since

    def running(self) -> str | None:
        """Who runs delivery from this database now, or None."""
        return holder(self.path)

    def _request(self, *events: Any) -> Requested:
        with self.store.errors():
            sequence = self.store.log.append_internal(list(events))
        self.wake()
        return Requested(sequence, waits=self.running() is None)


def _scope(sub: Subscription) -> dict[str, str]:
    return {sub.fields.scope: sub.fields.scope_id}


def _window(sub: Subscription) -> Filter:
    """The subscription's events: its scope and its types (patterns are globs already)."""
    return Filter(types=sub.fields.events, **_scope(sub))  # type: ignore[arg-type]


def _synthetic(sub: Subscription, event_type: str, now: dt.datetime) -> bytes:
    """A test event: the envelope, each required field, and a marker that it is a test."""
    fields = sub.fields
    event: dict[str, Any] = {
        "type": event_type,
        "organization_id": fields.scope_id if fields.scope == "organization" else "test",
        "context_id": fields.scope_id if fields.scope == "context" else "test",
        "id": f"test_{new_ids(1)[0]}",
        "occurred_at": format_time(now),
        "test": True,
    }
    for name in CATALOGUE[event_type][1]:
        event[name] = f"test_{name}"
    event["sequence"] = 0
    event["recorded_at"] = format_time(now)
    return msgspec.json.encode(event)
