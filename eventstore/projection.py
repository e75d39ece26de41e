"""Projections: read models kept from the log, each row change and its checkpoint in one
transaction, so applying is exactly-once and a rebuild from sequence 0 gives the same rows."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from signin_webhooks.eventstore.log import EventLog, Record

CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS projections (name TEXT PRIMARY KEY, sequence INTEGER NOT NULL)
"""


class Projection(abc.ABC):
    """A read model: its tables, and how a page of records changes them."""

    name: ClassVar[str]
    schema: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    reads_signin: ClassVar[bool] = False
    reads_internal: ClassVar[bool] = False

    @abc.abstractmethod
    def apply(self, conn: Any, records: list[Record]) -> None:
        """Change the projection's rows for these records (inside the caller's transaction)."""


class Projector:
    """Brings projections up to date with the log, one page per transaction."""

    def __init__(self, log: EventLog, page: int = 5000):
        self.log = log
        self.page = page
        self.conn = log.db.conn
        log.db.create_schema(CHECKPOINTS)
        self._created: set[str] = set()

    def checkpoint(self, projection: Projection) -> int:
        row = self.conn.execute(
            "SELECT sequence FROM projections WHERE name = ?", [projection.name]
        ).fetchone()
        return row[0] if row else 0

    def catch_up(self, projection: Projection) -> int:
        """Apply every record after the checkpoint; returns the new checkpoint. The checkpoint is
        read inside the write transaction, so two processes catching up never apply twice."""
        self._create(projection)
        while True:
            with self.log.db.write_transaction() as conn:
                self.log.db.lock_projection(conn, projection.name)
                after = self.checkpoint(projection)
                records = list(
                    self.log.read(
                        after,
                        signin=projection.reads_signin,
                        internal=projection.reads_internal,
                        limit=self.page,
                    )
                )
                if records:
                    projection.apply(conn, records)
                    conn.execute(
                        "INSERT INTO projections (name, sequence) VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET sequence = excluded.sequence",
                        [projection.name, records[-1].sequence],
                    )
            if len(records) < self.page:
                return records[-1].sequence if records else after

    def rebuild(self, projection: Projection) -> int:
        """Empty the projection's tables and replay the whole log into them."""
        self._create(projection)
        with self.log.db.write_transaction() as conn:
            self.log.db.lock_projection(conn, projection.name)
            for table in projection.tables:
                conn.execute(f"DELETE FROM {table}")
            conn.execute("DELETE FROM projections WHERE name = ?", [projection.name])
        return self.catch_up(projection)

    def _create(self, projection: Projection) -> None:
        if projection.name not in self._created:
            self.log.db.create_schema(projection.schema)
            self._created.add(projection.name)
