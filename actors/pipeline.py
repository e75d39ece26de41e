"""The running pipeline: timers, delivery pool, router and batchers, started in order and
stopped in reverse, plus a watcher that notices events appended by other processes."""

from __future__ import annotations

import contextlib
import logging
import os
import threading

import pykka

from signin_webhooks.actors.addresses import Resolver
from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.delivery import Deliverer, DeliveryActor
from signin_webhooks.actors.pool import DeliveryPool
from signin_webhooks.actors.retention import RetentionKeeper
from signin_webhooks.actors.router import Router, Wake
from signin_webhooks.actors.runlock import RunLock, ServerRunLock
from signin_webhooks.actors.runtime import Recorder, Runtime, start_actor
from signin_webhooks.actors.scheduler import Scheduler
from signin_webhooks.actors.transport import Transport
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.settings import Settings

log = logging.getLogger(__name__)
WATCH_INTERVAL = 0.05  # another process's publish is noticed within this (and a query)
CHECKPOINT_EVERY = 20  # watch intervals: a second


class Pipeline:
    def __init__(
        self,
        lock: RunLock | ServerRunLock,
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
        self.runtime = Runtime(db_path, clock, self.scheduler, Recorder(writer), settings)
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
        self.keeper = start_actor(RetentionKeeper, self.runtime)
        self._watcher = threading.Thread(
            target=self._watch, args=(self._store(db_path, clock),), name="log-watcher", daemon=True
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

    def stop(self) -> None:
        """Stop in reverse order; attempts in flight finish first (within their timeout)."""
        self._stopping.set()
        self._watcher.join()
        self.keeper.stop()
        self.router.stop()
        for member in self.members:
            member.stop()
        self.pool.stop()
        self.scheduler.stop()
        self.transport.close()
        for store in self.stores:
            store.close()
        self.lock.release()
