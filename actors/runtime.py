"""What every actor of a running system shares: the clock, the timers, and the one writer."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import threading
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pykka

from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.scheduler import Scheduler
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.deliveries import (
    AttemptRecorded,
    BatchSealed,
    Delivery,
    DeliveryHistory,
)
from signin_webhooks.eventstore.errors import SessionLost
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.ids import new_ids
from signin_webhooks.eventstore.settings import Settings

if TYPE_CHECKING:  # both start their actors from here
    from signin_webhooks.actors.notifier import Notifier
    from signin_webhooks.actors.workers import LeaseKeeper

ACTOR_STACK_BYTES = 256 * 1024  # actors keep shallow stacks; thousands of them stay cheap
_FENCED = (BatchSealed, AttemptRecorded)


class _Facts:
    """One caller's facts waiting to be recorded, and what came of it. `turn` is held until the
    caller may go on: its facts are written, or it is its turn to write."""

    def __init__(self, events: list[InternalEvent]) -> None:
        self.events = events
        self.done = False
        self.last = 0
        self.error: BaseException | None = None
        self.turn = threading.Lock()
        self.turn.acquire()


class Recorder:
    """Appends the system's own facts from any actor thread. Facts recorded at the same moment
    by several actors go in one transaction (a group commit): each caller's facts stay together
    and in order, and each caller is answered once they are in the log, or with the error. One
    caller at a time writes what is queued; then it wakes each caller it wrote for, and the first
    one queued since, whose turn it is to write: every caller is woken once.

    With a `fence` (a worker's leases, on PostgreSQL), a seal or an attempt is recorded only if
    the worker still owns its subscription, checked in the same transaction."""

    def __init__(self, store: Store, fence: LeaseKeeper | None = None) -> None:
        self.store = store
        self.fence = fence
        self._lock = threading.Lock()  # the store's connection
        self._queued: list[_Facts] = []
        self._queue_lock = threading.Lock()
        self._writing = False

    def record(self, *events: InternalEvent) -> int:
        """Append `events` in one transaction; returns the last one's sequence (theirs run
        consecutively up to it)."""
        if self.fence is not None:  # a lease lost for one subscription must fail only its facts
            return self._record_fenced(list(events))
        mine = _Facts(list(events))
        with self._queue_lock:
            self._queued.append(mine)
            waits, self._writing = self._writing, True
        if waits:
            mine.turn.acquire()  # written by another caller, or given the turn to write
        if not mine.done:
            with self._queue_lock:
                group, self._queued = self._queued, []
            try:
                self._write(group)
            finally:
                for facts in group:
                    facts.done = True
                    if facts is not mine:
                        facts.turn.release()
                with self._queue_lock:
                    if self._queued:
                        self._queued[0].turn.release()  # its turn to write
                    else:
                        self._writing = False
        if mine.error is not None:
            raise mine.error
        return mine.last

    def _record_fenced(self, events: list[InternalEvent]) -> int:
        fence = self.fence
        assert fence is not None  # `record` comes here only with a fence
        fenced = [e.subscription_id for e in events if isinstance(e, _FENCED)]

        def write(ids: list[str]) -> int:
            if not fenced:
                return self.store.log.append_internal(events, ids=ids)
            with self.store.db.write_transaction() as conn:
                fence.check(conn, fenced)
                return self.store.log.append_internal(events, conn, ids=ids)

        with self._lock, self.store.errors():
            return self._again_if_lost(write, len(events))

    def _write(self, group: list[_Facts]) -> None:
        try:
            events = [e for facts in group for e in facts.events]
            with self._lock, self.store.errors():
                last = self._again_if_lost(
                    lambda ids: self.store.log.append_internal(events, ids=ids), len(events)
                )
        except BaseException as error:
            for facts in group:
                facts.error = error
        else:
            end = last
            for facts in reversed(group):
                facts.last, end = end, end - len(facts.events)

    def _again_if_lost(self, write: Callable[[list[str]], int], count: int) -> int:
        """Append under ids chosen here. If the server ended the session before the COMMIT,
        nothing was written and it goes once more on a new session, rather than wait for the
        next try of whoever asked; if the COMMIT went unanswered, the log says whether it was
        made: a fact is never recorded twice."""
        ids = new_ids(count)
        try:
            return write(ids)
        except SessionLost as lost:
            made = self.store.log.recorded(ids[-1]) if lost.in_doubt else None
            if made is not None:
                return made
            return write(ids)

    def unsettled(self, subscription_id: str) -> list[Delivery]:
        """The subscription's pending and retrying deliveries, from an up-to-date history."""
        with self._lock:
            conn = self.store.project(DeliveryHistory())
            return DeliveryHistory.unsettled(conn, subscription_id)

    def next_unsettled(
        self, subscription_id: str, known: Collection[str], limit: int
    ) -> tuple[list[Delivery], bool]:
        """The subscription's first `limit` deliveries to send but those in `known`, from an
        up-to-date history, and whether more wait behind them."""
        with self._lock:
            conn = self.store.project(DeliveryHistory())
            return DeliveryHistory.next_unsettled(conn, subscription_id, known, limit)

    def ranges(self, delivery: Delivery) -> list[tuple[int, int]]:
        """The event ranges of a delivery, read from its seal in the log."""
        with self._lock, self.store.errors():
            (record,) = self.store.log.read_sequences([delivery.sealed_sequence])
        seal = record.event()
        assert isinstance(seal, BatchSealed), seal  # a delivery's sealed_sequence is its seal
        return seal.ranges


class Readers:
    """Read connections shared by the delivery actors: as many as read at the same moment, up
    to `limit`, not one per actor, however many actors the pool has started. Each is lent to one
    thread at a time: on a connection two threads share, one's statements would run inside the
    other's transaction (a projection catching up) and their results interleave."""

    def __init__(self, open_store: Callable[[], Store], limit: int | None = None) -> None:
        self._open = open_store
        self._limit = limit
        self._changed = threading.Condition(threading.Lock())
        self._free: list[Store] = []
        self._opened: list[Store] = []
        self._opening = 0

    @contextlib.contextmanager
    def borrow(self) -> Iterator[Store]:
        """A connection of its own for the caller, until it returns: one opened if none is free
        and the limit allows, else the first returned."""
        with self._changed:
            while not self._free and not self._may_open():
                self._changed.wait()
            store = self._free.pop() if self._free else None
            if store is None:
                self._opening += 1
        if store is None:
            try:
                store = self._open()
            finally:
                with self._changed:
                    self._opening -= 1
                    if store is not None:
                        self._opened.append(store)
                    self._changed.notify()
        try:
            yield store
        finally:
            with self._changed:
                self._free.append(store)
                self._changed.notify()

    def _may_open(self) -> bool:
        return self._limit is None or len(self._opened) + self._opening < self._limit

    def close(self) -> None:
        with self._changed:
            opened, self._opened, self._free = self._opened, [], []
        for store in opened:
            store.close()


@dataclass(frozen=True)
class Idle:
    """Asked of an actor: whether it has nothing in hand. `Pipeline.settled` asks the router,
    then the batchers, then the pool, as a barrier."""


@dataclass
class Runtime:
    db_path: str | os.PathLike[str]
    clock: SystemClock
    scheduler: Scheduler
    recorder: Recorder
    settings: Settings  # as of the keeper's last look; a change takes a second to apply
    leases: LeaseKeeper | None = None  # on PostgreSQL: this worker owns some subscriptions
    notifier: pykka.ActorRef[Notifier] | None = None  # operations endpoints told of health


A = TypeVar("A", bound=pykka.Actor)


def _os_thread_namer() -> Callable[[bytes], object] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None
    return lambda name: prctl(_PR_SET_NAME, name, 0, 0, 0)


_PR_SET_NAME = 15
_name_os_thread = _os_thread_namer()


def name_os_thread(name: str) -> None:
    """Name the calling thread where the operating system shows it (`top -H`, `ps -L`,
    /proc/PID/task/TID/comm): the actor's kind, so that its CPU can be told from the others'.
    Linux keeps 15 bytes; elsewhere this does nothing."""
    if _name_os_thread is not None:
        _name_os_thread(name.encode()[:15])


def start_actor(cls: type[A], *args: Any, **kwargs: Any) -> pykka.ActorRef[A]:
    """Start an actor on a thread with a small stack, leaving the host's default as it was."""
    previous = threading.stack_size(ACTOR_STACK_BYTES)
    try:
        return cls.start(*args, **kwargs)
    finally:
        threading.stack_size(previous)


@dataclass(frozen=True)
class Begin:
    """Do what starting takes; asked, so that whoever starts the actor meets its failure."""


class Listener(pykka.ThreadingActor):
    """An actor whose message handling never dies of one bad message (Mopidy's habit). What
    its start needs that may fail (opening and reading the database) goes in `begin`, asked for
    with `Begin()` by whoever starts it: pykka's `on_start` would fail alone, unheard."""

    def on_start(self) -> None:
        name_os_thread(type(self).__name__)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Begin):
            return self.begin()
        try:
            return self.handle(message)
        except Exception:
            logging.getLogger(type(self).__module__).exception(
                "%s failed on %r", type(self).__name__, type(message).__name__
            )
            return None

    def begin(self) -> None:
        return None

    def handle(self, message: Any) -> Any:  # each actor names the messages it takes
        return None
