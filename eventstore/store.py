"""The store: one database, a SQLite file or a PostgreSQL server, holding the log and the
projections kept from it."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

from signin_webhooks.eventstore.database import Database, damaged, open_database
from signin_webhooks.eventstore.log import EventLog
from signin_webhooks.eventstore.postgres import PostgresDatabase, is_url
from signin_webhooks.eventstore.projection import Projection, Projector
from signin_webhooks.eventstore.secrets import Keyring
from signin_webhooks.eventstore.times import utc_now


def connect(
    location: str | os.PathLike[str], *, application: str = "signin-webhooks", create: bool = True
) -> Database:
    """A `postgresql://` URL opens a connection to that server; anything else is a file path,
    made if it is not there only when `create`."""
    if is_url(location):
        return PostgresDatabase(str(location), application=application)
    return open_database(location, create=create)


class Store:
    """The log and its projector on one connection; driver errors become one-line StoreErrors."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        clock: Callable[[], dt.datetime] = utc_now,
        *,
        background: bool = False,
        create: bool = True,
    ) -> None:
        """`background`: a connection of the running system, tuned for it (on SQLite its
        commits skip the fsync: what it writes is re-derived or re-sent if lost). Publishes
        never go through such a connection: an acknowledged publish is on disk. `create`: make
        a database file that does not exist; without it a missing file is a NoDatabase error."""
        self.path = path
        self._intact = False
        self.db = connect(path, create=create)
        try:
            with self.errors():
                if background:
                    self.db.configure_background()
                self.log = EventLog(self.db, clock)
                self.projector = Projector(self.log)
                self.keyring = Keyring(self.db, path)
        except BaseException:
            self.db.close()
            raise

    @property
    def kind(self) -> str:
        """ "sqlite" or "postgres"."""
        return self.db.kind

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Report driver failures as errors a person can act on."""
        with self.db.errors():
            yield

    def project(self, projection: Projection) -> Any:
        """Bring `projection` up to date and return the connection to read it with."""
        with self.errors():
            self.projector.catch_up(projection)
        return self.db.conn

    def ensure_intact(self) -> None:
        """Read the whole SQLite file once to see that it is sound, before delivery starts
        writing to it for hours. A full scan, so publish does not: an append touches only the
        pages at the log's end and the id index, and a damaged one of those is refused as it is
        read."""
        if self._intact or self.kind != "sqlite":
            return
        with self.errors():
            found = self.db.conn.execute("PRAGMA quick_check(1)").fetchone()
        if found is None or found[0] != "ok":
            raise damaged(self.path)
        self._intact = True

    def check_writable(self) -> None:
        """Try a write and undo it: a read-only SQLite file opens without complaint, and would
        otherwise first say so at the first batch."""
        if self.kind != "sqlite":
            return
        with contextlib.suppress(_Undone), self.errors(), self.db.write_transaction() as conn:
            (version,) = conn.execute("PRAGMA user_version").fetchone()
            conn.execute(f"PRAGMA user_version = {int(version)}")
            raise _Undone

    def checkpoint(self) -> None:
        """Keep the SQLite WAL short (a PASSIVE checkpoint); the server needs none."""
        with self.errors():
            self.db.checkpoint()

    def close(self) -> None:
        self.db.close()


class _Undone(Exception):
    """Rolls back a write made only to see that it can be made."""
