"""Event counts per type and context: the smallest real projection, shown by `replay --stats`."""

from __future__ import annotations

import sqlite3
from collections import Counter

from eventstore.log import Record
from eventstore.projection import Projection


class EventCounts(Projection):
    name = "event_counts"
    tables = ("event_counts",)
    reads_signin = True
    schema = """
    CREATE TABLE IF NOT EXISTS event_counts (
        type TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        context_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (type, organization_id, context_id)
    )
    """

    def apply(self, conn: sqlite3.Connection, records: list[Record]) -> None:
        counts = Counter((r.type, r.organization_id, r.context_id) for r in records)
        conn.executemany(
            "INSERT INTO event_counts (type, organization_id, context_id, count)"
            " VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET count = count + excluded.count",
            [(*key, n) for key, n in counts.items()],
        )

    @staticmethod
    def rows(conn: sqlite3.Connection) -> list[dict[str, object]]:
        cursor = conn.execute(
            "SELECT type, organization_id, context_id, count FROM event_counts"
            " ORDER BY type, organization_id, context_id"
        )
        return [
            dict(zip(("type", "organization_id", "context_id", "count"), row, strict=True))
            for row in cursor
        ]
