"""The store: one database file holding the log and the projections kept from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sqlite3
from collections.abc import Callable, Iterator

from signin_webhooks.eventstore.database import open_database, store_error
from signin_webhooks.eventstore.log import EventLog
from signin_webhooks.eventstore.projection import Projection, Projector
from signin_webhooks.eventstore.times import utc_now

BACKGROUND_CACHE_KIB = 256


class Store:
    """The log and its projector on one connection; SQLite errors become one-line StoreErrors."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Callable[[], dt.datetime] = utc_now,
        *,
        background: bool = False,
    ) -> None:
        """`background`: a connection of the running system. What it writes (batches sealed,
        attempts) is re-derived or re-sent if lost, so its commits skip the fsync (still safe
        against a crashed process) and it leaves WAL checkpoints to `checkpoint()`. Publishes
        never go through such a connection: an acknowledged publish is on disk."""
        self.path = path
        self.db = open_database(path)
        with self.errors():
            if background:
                self.db.conn.execute("PRAGMA synchronous = NORMAL")
                self.db.conn.execute("PRAGMA wal_autocheckpoint = 0")
                # The system holds some twenty connections; SQLite's default cache of 2 MB each
                # would grow with the database to 40 MB. Reads here are by key, in order.
                self.db.conn.execute(f"PRAGMA cache_size = -{BACKGROUND_CACHE_KIB}")
            self.log = EventLog(self.db, clock)
            self.projector = Projector(self.log)

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Report SQLite failures as errors a person can act on."""
        try:
            yield
        except sqlite3.Error as e:
            raise store_error(e, self.path) from None

    def project(self, projection: Projection) -> sqlite3.Connection:
        """Bring `projection` up to date and return the connection to read it with."""
        with self.errors():
            self.projector.catch_up(projection)
        return self.db.conn

    def checkpoint(self) -> None:
        """Copy the WAL into the database without blocking writers (a PASSIVE checkpoint)."""
        with self.errors():
            self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.db.conn.close()
