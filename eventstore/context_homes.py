"""The organization each context belongs to, as its first published event says: a context no
token records as part of an organization is fixed to the organization of its first event, so
no other organization's token can publish into it later."""

from __future__ import annotations

from typing import Any

from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection


class ContextHomes(Projection):
    name = "context_homes"
    tables = ("context_homes",)
    reads_signin = True
    schema = """
    CREATE TABLE IF NOT EXISTS context_homes (
        context_id TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL
    )
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        first: dict[str, str] = {}
        for record in records:
            if record.context_id is not None and record.organization_id is not None:
                first.setdefault(record.context_id, record.organization_id)
        conn.executemany(
            "INSERT INTO context_homes (context_id, organization_id) VALUES (?, ?)"
            " ON CONFLICT (context_id) DO NOTHING",
            list(first.items()),
        )

    @staticmethod
    def organization_of(conn: Any, context_id: str) -> str | None:
        row = conn.execute(
            "SELECT organization_id FROM context_homes WHERE context_id = ?", [context_id]
        ).fetchone()
        return row[0] if row else None
