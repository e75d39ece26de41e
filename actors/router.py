"""The router: tails the log in order, keeps an index of subscriptions by scope and event type,
and hands each batcher the events it takes, one message per batcher per page of the log."""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass
from itertools import compress
from typing import Any

import pykka

from signin_webhooks.actors import activity
from signin_webhooks.actors.batcher import Batcher, Changed, Matched, Recovered, Release, Retry
from signin_webhooks.actors.notifier import Notify
from signin_webhooks.actors.pool import DeliveryPool
from signin_webhooks.actors.runtime import Idle, Listener, Runtime, start_actor
from signin_webhooks.actors.workers import Adopt, Drop, HandBack
from signin_webhooks.eventstore import Filter, InternalEvent, Store
from signin_webhooks.eventstore.deliveries import (
    BatchCancelled,
    BatchSealed,
    Delivery,
    DeliveryHistory,
    RetryRequested,
)
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.notifications import kind_of
from signin_webhooks.eventstore.subscription_index import SubscriptionIndex
from signin_webhooks.eventstore.subscriptions import (
    LIFECYCLE,
    Subscription,
    SubscriptionBackedOff,
    SubscriptionBackoffEnded,
    SubscriptionCreated,
    SubscriptionDisabled,
    SubscriptionEnabled,
    SubscriptionFailing,
    SubscriptionRecovered,
    Subscriptions,
    evolve,
)

log = logging.getLogger(__name__)
PAGE = 50_000  # sequences of the log routed at a time: some 3 MB of columns


@dataclass(frozen=True)
class Wake:
    """New events may be in the log."""


class Router(Listener):
    def __init__(self, runtime: Runtime, pool: DeliveryPool) -> None:
        super().__init__()
        self.runtime = runtime
        self.pool = pool
        self.store: Store | None = None
        self.state: dict[str, Subscription] = {}  # as of the router's position in the log
        self.index = SubscriptionIndex()  # of the subscriptions in `state`
        self.after: dict[str, int] = {}  # per subscription: events up to here are batched
        self.batchers: dict[str, pykka.ActorRef[Batcher]] = {}
        # batchers of deleted subscriptions, finishing an attempt
        self.retired: list[pykka.ActorRef[Batcher]] = []
        self.position = 0
        self.started_at = 0  # lifecycle events up to here are already in the batchers' state

    def begin(self) -> None:
        self.store = Store(self.runtime.db_path, self.runtime.clock, background=True)
        with self.store.errors():  # a damaged log is one line for whoever starts the router
            self._load()

    def _load(self) -> None:
        assert self.store is not None
        # Read before the projections: a change recorded meanwhile is then both in them and
        # routed as a change (harmless), never in neither (its subscription would get no batcher).
        self.started_at = self.store.log.last_sequence()
        subs = Subscriptions.all(self.store.project(Subscriptions()), deleted=True)
        conn = self.store.project(DeliveryHistory())
        unbatched_after = DeliveryHistory.unbatched_after(conn, subs)
        for sub in subs:
            if self.leased and not sub.deleted:  # its owner starts its batcher, in `_adopt`
                self.after[sub.id] = unbatched_after[sub.id]
                continue
            unsettled = self._cancel_skipped(sub, DeliveryHistory.unsettled(conn, sub.id))
            if not sub.deleted:
                self.after[sub.id] = unbatched_after[sub.id]
                self.batchers[sub.id] = start_actor(
                    Batcher, sub, self.runtime, self.pool, unsettled
                )
        if self.leased:  # an adopted subscription's backlog is read back for it alone
            self.position = self.started_at
        else:
            self.position = min(self.after.values(), default=self.started_at)
        self._load_state_at(self.position)
        self._catch_up()

    @property
    def leased(self) -> bool:
        """On PostgreSQL: batchers run only for the subscriptions this worker's leases own."""
        return self.runtime.leases is not None

    def _adopt(self, sub_id: str) -> None:
        """Start the batcher of a subscription this worker now owns, from the history: what the
        last owner sealed and did not settle goes first, then the events after its last batch
        up to the router's position, then what the router routes from there."""
        assert self.store is not None
        sub = self.state.get(sub_id)
        if sub is None or sub_id in self.batchers:
            return
        with self.store.errors():
            current = Subscriptions.get(self.store.project(Subscriptions()), sub_id)
            conn = self.store.project(DeliveryHistory())
            if current is None or current.deleted:
                return
            unsettled = [  # a recovery sealed past here reaches the batcher as a request
                d
                for d in self._cancel_skipped(current, DeliveryHistory.unsettled(conn, sub_id))
                if not (d.trigger == "recover" and d.sealed_sequence > self.position)
            ]
            after = DeliveryHistory.unbatched_after(conn, [current])[sub_id]
            batcher = start_actor(Batcher, current, self.runtime, self.pool, unsettled)
            self.batchers[sub_id] = batcher
            self.after[sub_id] = after
            for start, end, window in self._windows(sub_id, after):
                self._read_backlog(batcher, start, end, window)

    def _windows(self, sub_id: str, after: int) -> list[tuple[int, int, Filter]]:
        """The stretches of the log in (after, position], each with the filter the subscription
        had while its events were appended: an event matches as it did when it was published,
        as it does for the router replaying from a start (an update changes what comes after)."""
        assert self.store is not None
        lifecycle = Filter(types=tuple(LIFECYCLE))
        state: Subscription | None = None
        windows: list[tuple[int, int, Filter]] = []
        for record in self.store.log.read(0, filter=lifecycle, signin=False, internal=True):
            if record.sequence > self.position:
                break
            event = record.event()
            if event.subscription_id != sub_id:  # type: ignore[attr-defined]  # every lifecycle fact has it
                continue
            if state is not None and record.sequence > after:
                windows.append((after, record.sequence, state.window()))
                after = record.sequence
            state = evolve(state, record, event)
            if state.deleted:
                return windows
            after = max(after, state.start_after)  # enable --from-now skips what came before
        if state is not None and after < self.position:
            windows.append((after, self.position, state.window()))
        return windows

    def _read_backlog(
        self, batcher: pykka.ActorRef[Batcher], after: int, end: int, window: Filter
    ) -> None:
        """The events in (after, end] that `window` takes, to the batcher a page at a time."""
        assert self.store is not None
        while after < end:
            page = list(self.store.log.read(after, filter=window, limit=PAGE))
            taken = [r for r in page if r.sequence <= end]
            if taken:
                batcher.tell(Matched(
                    [r.sequence for r in taken],
                    [r.delivered_size() for r in taken],
                    [r.recorded_at for r in taken],
                ))  # fmt: skip
            if len(page) < PAGE or len(taken) < len(page):
                return
            after = page[-1].sequence

    def _hand_back(self, message: HandBack) -> None:
        batcher = self.batchers.pop(message.subscription_id, None)
        keeper, sub_id = message.keeper, message.subscription_id
        if batcher is None:
            keeper.handed_back(sub_id)
            return
        self.retired.append(batcher)
        batcher.tell(Release(lambda: keeper.handed_back(sub_id)))

    def _drop(self, sub_id: str) -> None:
        batcher = self.batchers.pop(sub_id, None)
        if batcher is not None:
            batcher.stop(block=False)

    def _cancel_skipped(self, sub: Subscription, unsettled: list[Delivery]) -> list[Delivery]:
        """What a delete or `enable --from-now` made while no `run` was up leaves to cancel (a
        running batcher cancels at once); returns the deliveries still to send."""
        reason = "subscription deleted" if sub.deleted else "skipped by enable --from-now"
        skipped = [d for d in unsettled if sub.deleted or d.sealed_sequence < sub.start_after]
        if skipped:
            self.runtime.recorder.record(*[
                BatchCancelled(batch_id=d.id, subscription_id=sub.id, reason=reason)
                for d in skipped
            ])  # fmt: skip
        return [d for d in unsettled if d not in skipped]

    def on_stop(self) -> None:
        for ref in [*self.batchers.values(), *self.retired]:
            ref.stop()
        if self.store is not None:
            self.store.close()

    def handle(self, message: object) -> Any:
        match message:
            case Wake():
                self._catch_up()
            case Adopt(sub_id):
                self._adopt(sub_id)
            case HandBack():
                self._hand_back(message)
            case Drop(sub_id):
                self._drop(sub_id)
            case Idle():
                self._catch_up()
                return self.position, list(self.batchers.values())
        return None

    def _load_state_at(self, position: int) -> None:
        """Subscriptions as they were at `position`, so events after it match as they did."""
        assert self.store is not None
        lifecycle = Filter(types=tuple(LIFECYCLE))
        for record in self.store.log.read(0, filter=lifecycle, signin=False, internal=True):
            if record.sequence > position:
                break
            self._apply(record, notify=False)

    def _catch_up(self) -> None:
        """Route the log up to its head a page at a time: the Sign In events of each stretch
        between two of the system's facts that change routing (a lifecycle change, an
        operator's request), then that fact."""
        assert self.store is not None
        log = self.store.log
        head = 0
        while True:
            with self.store.errors():
                if head <= self.position:
                    head = log.last_sequence()  # every event up to here is committed
                    if head <= self.position:
                        return
                end = min(self.position + PAGE, head)
                facts = log.facts(self.position, end, _ROUTING_FACTS)
            for record in facts:
                sequence, kind = record.sequence, record.type
                if kind in LIFECYCLE:
                    self._route(sequence)  # what came before the change goes first
                    self._apply(record, notify=sequence > self.started_at)
                elif sequence > self.started_at:
                    event = record.event()
                    if isinstance(event, BatchSealed) and event.trigger != "recover":
                        continue  # a batcher's own
                    self._route(sequence)
                    self._request(event)
            self._route(end)

    def _route(self, end: int) -> None:
        """The hot path: the Sign In events in (position, end], read per context and per
        organization, and one message to each batcher taking some, with only those."""
        assert self.store is not None
        after, self.position = self.position, end
        for scope, takers_of in self.index.by_scope.items():
            if not takers_of or end <= after:
                continue
            with self.store.errors():
                groups = self.store.log.routed(after, end, scope)
            for group in groups:
                takers = takers_of.get(group.scope_id)
                if takers:
                    self._hand_out(takers, *group.columns())

    def _hand_out(
        self,
        takers: dict[str, frozenset[str]],
        sequences: list[int],
        sizes: list[int],
        recorded_at: list[str],
        types: list[str],
    ) -> None:
        kinds = set(types)
        for sub_id, taken in takers.items():
            batcher = self.batchers.get(sub_id)
            if batcher is None:
                continue
            first = bisect.bisect_right(sequences, self.after[sub_id])
            if taken.issuperset(kinds):
                matched = Matched(sequences[first:], sizes[first:], recorded_at[first:])
            else:
                mask = list(map(taken.__contains__, types[first:]))
                matched = Matched(
                    list(compress(sequences[first:], mask)),
                    list(compress(sizes[first:], mask)),
                    list(compress(recorded_at[first:], mask)),
                )
            if matched.sequences:
                batcher.tell(matched)
                activity.routed(len(matched.sequences))

    def _apply(self, record: Record, *, notify: bool) -> None:
        event = record.event()
        sub_id = event.subscription_id  # type: ignore[attr-defined]  # every lifecycle fact has it
        before = self.state.get(sub_id)
        if before is None and not isinstance(event, SubscriptionCreated):
            return  # a fact about a deleted subscription (a 410 that came back after the delete)
        after = evolve(before, record, event)
        if after.deleted:
            self.state.pop(sub_id, None)
            self.index.remove(sub_id)
        else:
            self.state[sub_id] = after
            self.index.add(after)
            self.after[sub_id] = max(self.after.get(sub_id, 0), after.start_after)
        if not notify:
            return
        leases = self.runtime.leases
        if leases is None or leases.owns(sub_id):  # one worker tells, its owner
            _report(event)
            if kind_of(event) is not None and self.runtime.notifier is not None:
                self.runtime.notifier.tell(Notify(after, event))
        batcher = self.batchers.get(sub_id)
        if batcher is None and not after.deleted:
            if leases is None:
                self.batchers[sub_id] = start_actor(Batcher, after, self.runtime, self.pool, [])
            elif leases.owns(sub_id) or (
                isinstance(event, SubscriptionCreated) and leases.claim(sub_id)
            ):
                self._adopt(sub_id)  # a new one goes to the first worker that sees it
        elif batcher is not None:
            batcher.tell(Changed(after, record.type))
            if after.deleted:  # it stops itself once its attempt in flight ends
                self.retired.append(self.batchers.pop(sub_id))

    def _request(self, event: InternalEvent) -> None:
        """An operator's retry or recovery, carried out by the subscription's batcher."""
        assert self.store is not None
        batcher = self.batchers.get(event.subscription_id)  # type: ignore[attr-defined]  # requests do
        if batcher is None and self.leased:
            return  # another worker owns it and carries the request out
        if batcher is None:
            log.warning("%s for a subscription that is not running", event.type_name())
            return
        if isinstance(event, RetryRequested):
            delivery = DeliveryHistory.get(self.store.project(DeliveryHistory()), event.batch_id)
            if delivery is not None:
                batcher.tell(Retry(delivery))
        elif isinstance(event, BatchSealed) and event.trigger == "recover":
            activity.sealed(event)
            delivery = DeliveryHistory.get(self.store.project(DeliveryHistory()), event.batch_id)
            if delivery is not None:
                batcher.tell(Recovered(delivery))


def _report(event: InternalEvent) -> None:
    """A line for each change of health, as the router learns of it, whoever made it."""
    match event:
        case SubscriptionFailing():
            activity.health_changed(
                "failing", event.subscription_id, since=event.since, reason=event.reason
            )
        case SubscriptionRecovered():
            activity.health_changed("recovered", event.subscription_id, reason=event.reason)
        case SubscriptionDisabled():
            activity.health_changed(
                "disabled", event.subscription_id, reason=event.reason, automatic=event.automatic
            )
        case SubscriptionBackedOff():
            activity.health_changed(
                "backed_off", event.subscription_id, backoff=format_duration(event.backoff),
                until=event.until, reason=event.reason,
            )  # fmt: skip
        case SubscriptionBackoffEnded():
            activity.health_changed("backoff_ended", event.subscription_id, reason=event.reason)
        case SubscriptionEnabled():
            activity.health_changed("enabled", event.subscription_id, from_now=event.from_now)


# Sealed by an operator's process; at a start, history hands them to the batchers instead.
_REQUESTS = {RetryRequested.type_name(), BatchSealed.type_name()}
_ROUTING_FACTS = (*LIFECYCLE, *_REQUESTS)
