"""The running pipeline: timers, delivery pool, router and batchers, started in order and
stopped in reverse, plus a watcher that notices events appended by other processes."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any

import pykka

from signin_webhooks.actors.addresses import Resolver
from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.delivery import Deliverer, DeliveryActor
from signin_webhooks.actors.pool import DeliveryPool
from signin_webhooks.actors.retention import RetentionKeeper
from signin_webhooks.actors.router import Router, Wake
from signin_webhooks.actors.runlock import RunLock, SharedRun
from signin_webhooks.actors.runtime import Recorder, Runtime, start_actor
from signin_webhooks.actors.scheduler import Scheduler
from signin_webhooks.actors.transport import Transport
from signin_webhooks.actors.workers import LeaseKeeper
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.settings import Settings

log = logging.getLogger(__name__)
WATCH_INTERVAL = 0.05  # another process's publish is noticed within this (and a query)
CHECKPOINT_EVERY = 20  # watch intervals: a second
LISTEN_POLL = 0.25  # PostgreSQL: the head is polled this often behind the notifications
LISTEN_TICKS_PER_SECOND = 4


class Pipeline:
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
        self.stores: list[Store] = []
        self.scheduler = Scheduler(clock)
        writer = self._store(db_path, clock)
        # On PostgreSQL this is one worker of several: it delivers the subscriptions it owns.
        self.leases = (
            LeaseKeeper(str(db_path), settings.worker_lease) if writer.kind == "postgres" else None
        )
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
        self._stopping = threading.Event()
        self.pool = start_actor(DeliveryPool, settings.connections_per_host)
        # A server counts its connections: there the delivery actors share one to read bodies.
        shared = self._store(db_path, clock) if writer.db.shares_connections else None
        self.members = [
            start_actor(
                DeliveryActor,
                Deliverer(
                    shared or self._store(db_path, clock), self.runtime.recorder, self.transport,
                    clock,
                ),
                self.pool,
                self._stopping,
            )
            for _ in range(settings.delivery_pool_size)
        ]  # fmt: skip
        self.pool.tell(self.members)
        self.router = start_actor(Router, self.runtime, self.pool)
        if self.leases is not None:
            self.leases.start(self.router)
        self.keeper = start_actor(RetentionKeeper, self.runtime)
        watch = self._listen if self.leases is not None else self._watch
        self._watcher = threading.Thread(
            target=watch, args=(self._store(db_path, clock),), name="log-watcher", daemon=True
        )
        self._watcher.start()

    def _store(self, db_path: str | os.PathLike[str], clock: SystemClock) -> Store:
        store = Store(db_path, clock, background=True)
        self.stores.append(store)
        return store

    def wake(self) -> None:
        with contextlib.suppress(pykka.ActorDeadError):  # stopping: the log keeps what was new
            self.router.tell(Wake())

    def routed(self, timeout: float | None) -> None:
        self.router.ask(Wake(), timeout=timeout)

    def _watch(self, store: Store) -> None:
        """Polls SQLite's data_version (it changes when another connection commits), and keeps
        the WAL short with a checkpoint now and then, off every actor's path."""
        version = store.log.data_version()
        ticks = 0
        while not self._stopping.wait(WATCH_INTERVAL):
            ticks += 1
            try:
                current = store.log.data_version()
                if ticks % CHECKPOINT_EVERY == 0:
                    store.checkpoint()
                    self.keeper.tell("project")
            except Exception:
                log.exception("watching the log failed")
                continue
            if current != version:
                version = current
                self.wake()

    def _listen(self, store: Store) -> None:
        """PostgreSQL: every append NOTIFYs the log's channel, and a worker handing leases
        back NOTIFYs theirs; the head is polled behind that, should a notification be missed
        (the listening connection broken and opened again)."""
        assert self.leases is not None
        raw = store.db.conn.raw
        channels = (store.db.channel, self.leases.channel)
        version = -1
        ticks = 0
        while not self._stopping.is_set():
            try:
                if version < 0:
                    for channel in channels:
                        raw.execute(f"LISTEN {channel}")
                    version = store.log.data_version()
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
                    self.keeper.tell("project")
            except Exception:
                log.exception("watching the log failed; listening again")
                version = -1
                self._stopping.wait(LISTEN_POLL)
                raw = self._reconnect(store)

    def _reconnect(self, store: Store) -> Any:
        with contextlib.suppress(Exception):
            if not store.db.conn.raw.closed:
                return store.db.conn.raw
            store.db.reconnect()
        return store.db.conn.raw

    def stop(self) -> None:
        """Stop in reverse order; attempts in flight finish first (within their timeout). On
        PostgreSQL the leases are handed back last, once nothing of this worker's is in flight."""
        self._stopping.set()
        self._watcher.join()
        if self.leases is not None:
            self.leases.stop()
        self.keeper.stop()
        self.router.stop()
        for member in self.members:
            member.stop()
        if self.leases is not None:
            self.leases.leave()
        self.pool.stop()
        self.scheduler.stop()
        self.transport.close()
        for store in self.stores:
            store.close()
        self.lock.release()
