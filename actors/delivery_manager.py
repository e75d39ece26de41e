"""Delivery history and retries: what was sent, what came back, and sending it again."""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from signin_webhooks.actors.delivery import batch_body
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.actors.runlock import holder
from signin_webhooks.eventstore import (
    InternalEvent,
    InvalidInput,
    format_time,
    parse_time,
)
from signin_webhooks.eventstore.deliveries import (
    AttemptRecorded,
    Delivery,
    DeliveryHistory,
    RetryRequested,
    unknown_delivery,
)
from signin_webhooks.eventstore.delivery_changes import FILTER as CHANGES
from signin_webhooks.eventstore.delivery_changes import DeliveryChange, change_of
from signin_webhooks.eventstore.statuses import STATUSES
from signin_webhooks.eventstore.subscriptions import Subscriptions


@dataclass(frozen=True)
class Requested:
    """An operator request recorded in the log; `waits` when no `run` is up to carry it out."""

    sequence: int
    waits: bool


class DeliveryManager:
    """`system.deliveries`: list and inspect deliveries, rebuild their bodies, retry them."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def list(
        self,
        *,
        subscription_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        subscription_ids: Collection[str] | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        event_id: str | None = None,
        delivery_id: str | None = None,
        before: tuple[str, str] | None = None,
    ) -> builtins.list[Delivery]:
        """Newest first. `subscription_ids` keeps only those subscriptions' deliveries; the
        window is on the seal's time (RFC 3339 times, datetimes, or times ago: `1h`, `2d`);
        `event_id` keeps those holding that event; `delivery_id` the one a consumer received
        under that `webhook-id`; `before` continues after the (sealed_at, id) of the last
        delivery of a page."""
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"«status» {status!r} is not one of {', '.join(STATUSES)}")
        store = self.ledger.store
        holding = None
        if event_id is not None:
            with store.errors():
                holding = store.log.sequence_of(event_id)
            if holding is None:
                return []
        conn = store.project(DeliveryHistory())
        now = self.ledger.clock()
        window = {
            key: None if value is None else format_time(parse_time(value, what=key, now=now))
            for key, value in (("since", since), ("until", until))
        }
        with store.errors():
            return DeliveryHistory.newest(
                conn,
                subscription_id=subscription_id,
                status=status,
                limit=limit,
                subscription_ids=subscription_ids,
                delivery_id=delivery_id,
                holding=holding,
                before=before,
                **window,
            )

    def get(self, delivery_id: str) -> tuple[Delivery, builtins.list[AttemptRecorded]]:
        """One delivery and its attempts, oldest first."""
        conn = self.ledger.store.project(DeliveryHistory())
        found = DeliveryHistory.get(conn, delivery_id)
        if found is None:
            raise unknown_delivery(delivery_id)
        return found, DeliveryHistory.attempts(conn, delivery_id)

    def position(self) -> int:
        """The log's position now: `changes` after it are what happens from now on."""
        with self.ledger.store.errors():
            return self.ledger.store.log.last_sequence()

    def changes(
        self, after_sequence: int, limit: int = 1000
    ) -> tuple[int, builtins.list[DeliveryChange]]:
        """Changes of deliveries the log recorded after `after_sequence`, oldest first (at most
        `limit` records' worth), and the position to read on from."""
        store = self.ledger.store
        with store.errors():
            head = store.log.last_sequence()
            records = list(
                store.log.read(after_sequence, filter=CHANGES, signin=False, internal=True,
                               limit=limit)
            )  # fmt: skip
        # All read up to the head unless the limit cut it short: read on from there, past
        # the Sign In events, not through them again.
        position = max(head, after_sequence) if len(records) < limit else records[-1].sequence
        if records:
            position = max(position, records[-1].sequence)
        return position, [c for r in records if (c := change_of(r)) is not None]

    def body(self, delivery: Delivery) -> bytes:
        """The exact body sent, rebuilt from the log."""
        return batch_body(self.ledger.store, delivery)

    def retry(self, delivery_id: str, *, force: bool = False) -> Requested:
        """Send a delivery again now, under the same webhook-id, in a new series of attempts."""
        delivery, _ = self.get(delivery_id)
        store = self.ledger.store
        sub = Subscriptions.require(store.project(Subscriptions()), delivery.subscription_id)
        if delivery.trigger == "test":
            raise InvalidInput("a test delivery is not retried; run `«subscriptions.test()»` again")
        if delivery.status in ("pending", "retrying", "succeeded") and not force:
            state = {"succeeded": "has succeeded already", "pending": "is still pending"}
            raise InvalidInput(
                f"delivery {delivery_id} {state.get(delivery.status, 'is retrying')};"
                " retry it anyway with «force»"
            )
        return self.request(RetryRequested(batch_id=delivery.id, subscription_id=sub.id))

    def request(self, *events: InternalEvent) -> Requested:
        """Record an operator request for the running system to carry out."""
        sequence = self.ledger.record(*events)
        return Requested(sequence, waits=holder(self.ledger.path) is None)
