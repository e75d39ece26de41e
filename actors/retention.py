"""The running system's retention timer: expiry and compaction without an operator."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from signin_webhooks.actors import activity
from signin_webhooks.actors.runtime import Listener, Runtime
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.deliveries import DeliveryHistory
from signin_webhooks.eventstore.retention import retain_unless_running
from signin_webhooks.eventstore.settings import InstallationSettings
from signin_webhooks.eventstore.subscriptions import Subscriptions

INTERVAL = dt.timedelta(minutes=10)
# Kept current while running, so that a restart and the history commands have little to catch up.
PROJECTIONS = (Subscriptions(), DeliveryHistory())


@dataclass(frozen=True)
class Tick:
    """Run retention now, and again after INTERVAL."""


@dataclass(frozen=True)
class Project:
    """Bring the projections and the settings in force up to date."""


class RetentionKeeper(Listener):
    """Runs retention now and then every INTERVAL of the system's clock, and brings the
    projections up to date when asked."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self.runtime = runtime
        self.store: Store | None = None

    def begin(self) -> None:
        self.store = Store(self.runtime.db_path, self.runtime.clock, background=True)
        self.actor_ref.tell(Tick())

    def on_stop(self) -> None:
        if self.store is not None:
            self.store.close()

    def handle(self, message: object) -> None:
        match message:
            case Project():
                self._project()
            case Tick():
                self._tick()

    def _project(self) -> None:
        assert self.store is not None
        for projection in PROJECTIONS:
            self.store.project(projection)
        settings = self.store.project(InstallationSettings())
        self.runtime.settings = InstallationSettings.current(settings)

    def _tick(self) -> None:
        assert self.store is not None
        ref = self.actor_ref
        self.runtime.scheduler.after(INTERVAL.total_seconds(), lambda: ref.tell(Tick()))
        report = retain_unless_running(self.store, self.runtime.clock())
        if report is not None:  # else another worker runs it now
            activity.retention_ran(report)
