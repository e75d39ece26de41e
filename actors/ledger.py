"""The ledger: what the system's parts share to read the log and to record facts in it."""

from __future__ import annotations

import os
from collections.abc import Callable

from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.runlock import refuse_lost_database
from signin_webhooks.eventstore import InternalEvent, Store


def _nothing_to_wake() -> None:
    return None


class Ledger:
    """The store, opened on first use (reads and writes need no running delivery), and the one
    way a part records a fact: appended, then the router woken to act on it."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: SystemClock | None = None,  # a test delivery's attempt needs all of a clock
        wake: Callable[[], None] = _nothing_to_wake,
    ) -> None:
        self.path = path
        self.clock = clock or SystemClock()
        self.wake = wake
        self.create = True  # make the file if it is not there; else NoDatabase
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        return self.open()

    def open(self, *, lost_checked: bool = False) -> Store:
        """The store, opened now if it is not yet: a bad database is reported here, and a
        deleted one is not made anew (`lost_checked`: the caller saw to that already)."""
        if self._store is None:
            if self.create and not lost_checked:
                refuse_lost_database(self.path)
            self._store = Store(self.path, self.clock, create=self.create)
        return self._store

    def record(self, *events: InternalEvent) -> int:
        """Append the facts in one transaction; returns the last one's sequence."""
        with self.store.errors():
            sequence = self.store.log.append_internal(list(events))
        self.wake()
        return sequence

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
