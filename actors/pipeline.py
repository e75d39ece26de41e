"""The running pipeline: timers, delivery pool, router and batchers, started in order and
stopped in reverse, plus a watcher that notices events appended by other processes."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

from signin_webhooks.actors.addresses import Resolver
from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.delivery import Deliverer, DeliveryActor
from signin_webhooks.actors.notifier import Notifier
from signin_webhooks.actors.pool import DeliveryPool
from signin_webhooks.actors.retention import Project, RetentionKeeper
from signin_webhooks.actors.router import Router, Wake
from signin_webhooks.actors.runlock import RunLock, SharedRun
from signin_webhooks.actors.runtime import Begin, Idle, Readers, Recorder, Runtime, start_actor
from signin_webhooks.actors.scheduler import Scheduler
from signin_webhooks.actors.transport import Transport
from signin_webhooks.actors.workers import LeaseKeeper
from signin_webhooks.eventstore import Store, StoreError
from signin_webhooks.eventstore.postgres import PostgresDatabase, driver_errors, is_url
from signin_webhooks.eventstore.settings import Settings

log = logging.getLogger(__name__)
SETTLED_POLL = 0.005  # between rounds of asking whether the system has settled
WATCH_INTERVAL = 0.05  # another process's publish is noticed within this (and a query)
CHECKPOINT_EVERY = 20  # watch intervals: a second
LISTEN_POLL = 0.25  # PostgreSQL: the head is polled this often behind the notifications
LISTEN_TICKS_PER_SECOND = 4
SERVER_READERS = 4  # PostgreSQL: connections the delivery actors read bodies and keys through


class Pipeline:
    """Starts everything or nothing: a failure while starting stops what had started, releases
    the lock, and reaches the caller. Halts by itself, with a reason, when its SQLite file is
    deleted, replaced, or can no longer be written."""

    def __init__(
        self,
        lock: RunLock | SharedRun,
        db_path: str | os.PathLike[str],
        clock: SystemClock,
        resolver: Resolver,
        allow_private_override: bool | None,
        settings: Settings,
    ) -> None:
        self.lock = lock  # held by the caller's process; released by `stop`
        self.db_path = db_path
        self.stores: list[Store] = []
        self.scheduler = Scheduler(clock)
        self._stopping = threading.Event()
        self.fault: str | None = None  # why it halted by itself
        self._on_halt: list[Callable[[str], None]] = []
        self.leases: LeaseKeeper | None = None
        self.transport: Transport | None = None
        self.pool: DeliveryPool | None = None
        self.readers: Readers | None = None
        self.router: pykka.ActorRef[Router] | None = None
        self.notifier: pykka.ActorRef[Notifier] | None = None
        self.keeper: pykka.ActorRef[RetentionKeeper] | None = None
        self._watcher: threading.Thread | None = None
        try:
            self._start(clock, resolver, allow_private_override, settings)
        except BaseException:
            self.stop()
            raise

    def _start(
        self,
        clock: SystemClock,
        resolver: Resolver,
        allow_private_override: bool | None,
        settings: Settings,
    ) -> None:
        db_path = self.db_path
        writer = self._store(db_path, clock)
        writer.ensure_intact()
        writer.check_writable()
        self._identity = identity(db_path)
        # On PostgreSQL this is one worker of several: it delivers the subscriptions it owns.
        if writer.kind == "postgres":
            self.leases = LeaseKeeper(str(db_path), settings.worker_lease)
        self.runtime = Runtime(
            db_path, clock, self.scheduler, Recorder(writer, self.leases), settings, self.leases
        )
        self.transport = Transport(
            resolver=resolver,
            allow_private=lambda: bool(
                allow_private_override or self.runtime.settings.allow_private_networks
            ),
            max_connections_per_host=settings.connections_per_host,
        )
        self.scheduler.start()
        # A server counts its connections: there the delivery actors share a few to read bodies.
        limit = SERVER_READERS if writer.db.shares_connections else None
        self.readers = Readers(lambda: Store(db_path, clock, background=True), limit)
        deliverer = Deliverer(self.readers, self.runtime.recorder, self.transport, clock)

        def start_member(pool: DeliveryPool) -> pykka.ActorRef[DeliveryActor]:
            return start_actor(DeliveryActor, deliverer, pool, self._stopping)

        self.pool = DeliveryPool(
            start_member, settings.delivery_pool_size, settings.connections_per_host
        )
        self.notifier = start_actor(Notifier, self.runtime, self.transport)
        self.notifier.ask(Begin())  # the retries the last stop left waiting
        self.runtime.notifier = self.notifier
        self.router = start_actor(Router, self.runtime, self.pool)
        self.router.ask(Begin())  # a damaged log fails here, with every actor started stopped
        if self.leases is not None:
            self.leases.start(self.router)
        self.keeper = start_actor(RetentionKeeper, self.runtime)
        self.keeper.ask(Begin())
        watch = self._listen if self.leases is not None else self._watch
        self._watcher = threading.Thread(
            target=watch, args=(self._store(db_path, clock),), name="log-watcher", daemon=True
        )
        self._watcher.start()

    def on_halt(self, callback: Callable[[str], None]) -> None:
        """Call `callback` with the reason once the pipeline halts by itself (now, if it has)."""
        self._on_halt.append(callback)
        if self.fault is not None:
            callback(self.fault)

    def _halt(self, reason: str) -> None:
        """Take no new work and tell whoever waits: stopping is theirs to do."""
        self.fault = reason
        self._stopping.set()
        for callback in list(self._on_halt):
            callback(reason)

    def _store(self, db_path: str | os.PathLike[str], clock: SystemClock) -> Store:
        store = Store(db_path, clock, background=True)
        self.stores.append(store)
        return store

    def wake(self) -> None:
        assert self.router is not None  # started before anything that wakes it
        with contextlib.suppress(pykka.ActorDeadError):  # stopping: the log keeps what was new
            self.router.tell(Wake())

    def routed(self, timeout: float | None) -> None:
        assert self.router is not None
        self.router.ask(Wake(), timeout=timeout)

    def settled(self, timeout: float) -> bool:
        """Wait until nothing is in hand: no timer due, the log routed, no batcher waiting on an
        attempt, no attempt queued or running, and nothing new in the log meanwhile. A round
        asks the router, then each batcher, then the pool, so each question comes after every
        message the one before it sent; a busy round is asked again. False after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._quiet_round(deadline - time.monotonic()):
                return True
            time.sleep(SETTLED_POLL)
        return False

    def _quiet_round(self, timeout: float) -> bool:
        assert self.router is not None and self.pool is not None
        quiet = self.scheduler.quiet()
        position, batchers = self.router.ask(Idle(), block=True, timeout=timeout)
        answers = [batcher.ask(Idle(), block=False) for batcher in batchers]
        quiet = all([answer.get(timeout=timeout) for answer in answers]) and quiet
        quiet = self.pool.idle() and quiet
        again, _ = self.router.ask(Idle(), block=True, timeout=timeout)
        return quiet and again == position and self.scheduler.quiet()

    def _watch(self, store: Store) -> None:
        """Polls SQLite's data_version (it changes when another connection commits), keeps
        the WAL short with a checkpoint now and then, off every actor's path, and halts when
        the file is gone, replaced or read-only."""
        assert self.keeper is not None  # started before the watcher
        version = store.log.data_version()
        ticks = 0
        failing: str | None = None
        while not self._stopping.wait(WATCH_INTERVAL):
            ticks += 1
            fault = self._file_fault()
            if fault is not None:
                self._halt(fault)
                return
            try:
                current = store.log.data_version()
                if ticks % CHECKPOINT_EVERY == 0:
                    store.checkpoint()
                    self.keeper.tell(Project())
            except StoreError as e:
                if "read-only" in str(e):
                    self._halt(f"{e}; stopping")
                    return
                if str(e) != failing:  # once per new trouble, not once a second
                    log.warning("watching the log failed: %s; trying again", e)
                    failing = str(e)
                continue
            if failing is not None:
                log.warning("watching the log works again")
                failing = None
            if current != version:
                version = current
                self.wake()

    def _file_fault(self) -> str | None:
        """Why the database file is no longer the one `run` started on, if it is not."""
        shown = os.fspath(self.db_path)
        try:
            now = identity(self.db_path)
        except FileNotFoundError:
            return (
                f"database '{shown}' was deleted while `run` delivered from it; stopping:"
                " restore it from a backup, then start `run` again"
            )
        except OSError as e:
            return f"database '{shown}' cannot be looked at ({e.strerror}); stopping"
        if now != self._identity:
            return (
                f"database '{shown}' was replaced by another file while `run` delivered from it;"
                " stopping: start `run` again to deliver from the new one"
            )
        return None

    def _listen(self, store: Store) -> None:
        """PostgreSQL: every append NOTIFYs the log's channel, and a worker handing leases
        back NOTIFYs theirs; the head is polled behind that, should a notification be missed
        (the listening connection broken and opened again)."""
        assert self.leases is not None and self.keeper is not None  # started before the watcher
        assert isinstance(store.db, PostgresDatabase), "only PostgreSQL notifies"
        raw = store.db.conn.raw
        channels = (store.db.channel, self.leases.channel)
        version = -1
        ticks = 0
        gone: tuple[type[Exception], ...] = (StoreError, *driver_errors())  # server went away
        while not self._stopping.is_set():
            try:
                if version < 0:
                    for channel in channels:
                        raw.execute(f"LISTEN {channel}")
                    version = store.log.data_version()
                    self.wake()  # what was appended while no one listened
                    self.leases.poke()
                for note in raw.notifies(timeout=LISTEN_POLL, stop_after=1):
                    if note.channel == self.leases.channel:
                        self.leases.poke()
                    else:
                        self.wake()
                ticks += 1
                current = store.log.data_version()
                if current != version:
                    version = current
                    self.wake()
                if ticks % LISTEN_TICKS_PER_SECOND == 0:
                    self.keeper.tell(Project())
            except Exception as e:
                if isinstance(e, gone):  # a line, not a traceback: it is expected
                    log.warning("watching the log failed (%s); listening again", first_line(e))
                else:
                    log.exception("watching the log failed; listening again")
                version = -1
                self._stopping.wait(LISTEN_POLL)
                raw = self._reconnect(store, raw)

    def _reconnect(self, store: Store, failed: Any) -> Any:
        """A session to listen on in place of `failed`: the one a read has opened meanwhile,
        or a new one (if the server is back)."""
        assert isinstance(store.db, PostgresDatabase), "only PostgreSQL notifies"
        with contextlib.suppress(Exception):
            if store.db.conn.raw is failed or store.db.conn.raw.closed:
                store.db.reconnect()
        return store.db.conn.raw

    def stop(self) -> None:
        """Stop in reverse order; attempts in flight finish first (within their timeout). On
        PostgreSQL the leases are handed back last, once nothing of this worker's is in flight.
        Stops what started, and only that, when starting failed part way."""
        self._stopping.set()
        if self._watcher is not None:
            self._watcher.join()
        if self.leases is not None:
            self.leases.stop()
        for ref in (self.keeper, self.router, self.notifier):
            if ref is not None:
                ref.stop()
        if self.transport is not None:
            self.transport.stop_waiting()  # attempts not yet connected start no more
        if self.pool is not None:
            self.pool.stop()  # and its members, once their attempts in flight end
        if self.leases is not None:
            self.leases.leave()
        self.scheduler.stop()
        if self.transport is not None:
            self.transport.close()
        if self.readers is not None:
            self.readers.close()
        for store in self.stores:
            store.close()
        self.lock.release()


def identity(db_path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """The SQLite file's device and inode (None for a server): what `run` started on."""
    if is_url(db_path):
        return None
    found = os.stat(db_path)
    return found.st_dev, found.st_ino


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
