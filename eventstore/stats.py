"""Event counts per type and context: the smallest real projection, shown by `replay --stats`."""

from __future__ import annotations

from collections import Counter
from typing import Any

from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection


class LogCompacted(InternalEvent, frozen=True, tag="log.compacted"):
    """Sign In events up to `through_sequence` were removed; `event_counts` is the count
    projection as it stood here, so a rebuild after compaction still gives the live counts."""

    through_sequence: int
    removed: int
    event_counts: list[tuple[str, str, str, int]]


class EventCounts(Projection):
    name = "event_counts"
    tables = ("event_counts",)
    reads_signin = True
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS event_counts (
        type TEXT NOT NULL,
        organization_id TEXT NOT NULL,
        context_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (type, organization_id, context_id)
    )
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        counts: Counter[tuple[str | None, str | None, str | None]] = Counter()
        for record in records:
            if not record.internal:
                counts[(record.type, record.organization_id, record.context_id)] += 1
            elif record.type == LogCompacted.type_name():
                self._write(conn, counts)
                counts.clear()
                conn.execute("DELETE FROM event_counts")
                snapshot = record.event().event_counts  # type: ignore[attr-defined]  # compacted
                conn.executemany("INSERT INTO event_counts VALUES (?, ?, ?, ?)", snapshot)
        self._write(conn, counts)

    @staticmethod
    def _write(conn: Any, counts: Counter[Any]) -> None:
        conn.executemany(
            "INSERT INTO event_counts (type, organization_id, context_id, count)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (type, organization_id, context_id)"
            " DO UPDATE SET count = event_counts.count + excluded.count",
            [(*key, n) for key, n in counts.items()],
        )

    @staticmethod
    def snapshot(conn: Any) -> list[tuple[str, str, str, int]]:
        """Every count, as a compaction records them."""
        return [
            (str(kind), str(org), str(ctx), int(count))
            for kind, org, ctx, count in conn.execute(
                "SELECT type, organization_id, context_id, count FROM event_counts"
                " ORDER BY type, organization_id, context_id"
            )
        ]

    @staticmethod
    def rows(conn: Any) -> list[dict[str, Any]]:
        cursor = conn.execute(
            "SELECT type, organization_id, context_id, count FROM event_counts"
            " ORDER BY type, organization_id, context_id"
        )
        return [
            dict(zip(("type", "organization_id", "context_id", "count"), row, strict=True))
            for row in cursor
        ]
