"""Where the benchmark's databases go: files in a scratch folder, or, given a postgresql:// URL,
schemas of their own on that server, each dropped at the end; and the raw baselines' own
connections to them, beside the log's."""

from __future__ import annotations

import secrets
import sqlite3
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from signin_webhooks import WebhookSystem
from signin_webhooks.eventstore.postgres import driver, is_url


class Places:
    def __init__(self, folder: Path, server: str | None = None) -> None:
        self.folder = folder
        self.server = server
        self.schemas: list[str] = []

    @property
    def kind(self) -> str:
        return "postgres" if self.server else "sqlite"

    def new(self, name: str) -> str | Path:
        """A database of its own, empty."""
        if self.server is None:
            return self.folder / name
        schema = f"bench_{secrets.token_hex(5)}"
        with driver(self.server).connect(self.server, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        parts = urllib.parse.urlsplit(self.server)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "options"]
        query.append(("options", f"-csearch_path={schema}"))
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))

    def close(self) -> None:
        if self.server is None or not self.schemas:
            return
        with driver(self.server).connect(self.server, autocommit=True) as admin:
            for schema in self.schemas:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
        self.schemas.clear()


class RawLog:
    """The baseline: the driver alone writing the log's rows, without anything the log does
    around them, into the table a log made through the Python API (its columns, its indexes, its
    journal), with the log's durability."""

    COLUMNS = ("id", "type", "organization_id", "context_id", "occurred_at", "recorded_at",
               "assigned", "internal", "body")  # fmt: skip

    def __init__(self, place: str | Path) -> None:
        with WebhookSystem(place, deliver=False):  # the log's own table, empty
            pass
        self.postgres = is_url(place)
        if self.postgres:
            self.conn: Any = driver(str(place)).connect(str(place), autocommit=True)
        else:
            self.conn = sqlite3.connect(place, isolation_level=None)
            self.conn.execute("PRAGMA synchronous = FULL")
        self.next_sequence = 1

    def insert(self, rows: list[tuple[object, ...]]) -> None:
        """All the rows in one transaction: COPY on PostgreSQL, executemany on SQLite."""
        self.conn.execute("BEGIN IMMEDIATE" if not self.postgres else "BEGIN")
        if self.postgres:
            columns = ", ".join(("sequence", *self.COLUMNS))
            with self.conn.cursor().copy(f"COPY events ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((self.next_sequence, *row))
                    self.next_sequence += 1
        else:
            self.conn.executemany(self._insert(), rows)
        self.conn.execute("COMMIT")

    def insert_each(self, rows: list[tuple[object, ...]]) -> None:
        """A transaction per row."""
        if not self.postgres:
            for row in rows:
                self.conn.execute("BEGIN IMMEDIATE")
                self.conn.execute(self._insert(), row)
                self.conn.execute("COMMIT")
            return
        insert = self._insert(("sequence", *self.COLUMNS), "%s")
        for row in rows:
            with self.conn.transaction():
                self.conn.execute(insert, (self.next_sequence, *row))
            self.next_sequence += 1

    def _insert(self, columns: tuple[str, ...] = COLUMNS, marker: str = "?") -> str:
        values = ", ".join(marker for _ in columns)
        return f"INSERT INTO events ({', '.join(columns)}) VALUES ({values})"

    def close(self) -> None:
        self.conn.close()


def signin_bodies(place: str | Path) -> Iterator[tuple[str, bytes]]:
    """(context, body) of every Sign In event of a log, in order, read by the driver alone."""
    if is_url(place):
        with driver(str(place)).connect(str(place)) as conn:
            yield from conn.execute(
                "SELECT context_id, body FROM events WHERE internal = 0 ORDER BY sequence"
            )
        return
    conn = sqlite3.connect(place)
    try:
        yield from conn.execute(
            "SELECT context_id, body FROM events WHERE internal = 0 ORDER BY sequence"
        )
    finally:
        conn.close()
