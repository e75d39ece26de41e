"""Appending to the log on PostgreSQL: one transaction's events numbered from the log's head and
written through one COPY, kept open from chunk to chunk.

The head's row lock is taken first (SELECT ... FOR UPDATE) and held until the transaction ends,
so that positions commit in order (see eventstore/postgres.py); the head is moved once, at the
end. While the COPY stays open the server inserts one chunk as the next is validated and sent. A
chunk holding ids given by its publisher ends the COPY, since those ids are looked up in the log
(the transaction's earlier chunks included) on the same connection; the next chunk opens another.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

_COPY = "COPY events ({}) FROM STDIN"


class PostgresAppending:
    def __init__(self, conn: Any, columns: tuple[str, ...], channel: str) -> None:
        self._conn = conn
        self._sql = _COPY.format(", ".join(columns))
        self._channel = channel
        (head,) = conn.execute("SELECT last_sequence FROM log_head FOR UPDATE").fetchone()
        self._head = self._last = int(head)
        self._copying: contextlib.AbstractContextManager[Any] | None = None
        self._copy: Any = None

    def insert(self, rows: list[tuple[Any, ...]]) -> int:
        """Number the rows after the last and write them; returns the last sequence."""
        if self._copy is None:
            self._copying = self._conn.raw.cursor().copy(self._sql)
            self._copy = self._copying.__enter__()
        write = self._copy.write_row
        for sequence, row in enumerate(rows, self._last + 1):
            write((sequence, *row))
        self._last += len(rows)
        return self._last

    def bodies(self, ids: list[str]) -> dict[str, bytes]:
        """The bodies of the events of the log (this transaction's included) with these ids."""
        if not ids:
            return {}
        self._end_copy()
        rows = self._conn.execute("SELECT id, body FROM events WHERE id = ANY(?)", [ids])
        return dict(rows.fetchall())

    def close(self) -> None:
        """End the COPY, move the head past what was written and wake the workers."""
        self._end_copy()
        if self._last != self._head:
            self._conn.execute("UPDATE log_head SET last_sequence = ?", [self._last])
            self._conn.raw.execute(f"NOTIFY {self._channel}")

    def abandon(self, error: BaseException) -> None:
        """End the COPY with the error: the server drops it, and the transaction rolls back."""
        copying, self._copying, self._copy = self._copying, None, None
        if copying is not None:
            with contextlib.suppress(Exception):
                copying.__exit__(type(error), error, error.__traceback__)

    def _end_copy(self) -> None:
        copying, self._copying, self._copy = self._copying, None, None
        if copying is not None:
            copying.__exit__(None, None, None)


@contextlib.contextmanager
def appending(conn: Any, columns: tuple[str, ...], channel: str) -> Iterator[PostgresAppending]:
    appender = PostgresAppending(conn, columns, channel)
    try:
        yield appender
    except BaseException as e:
        appender.abandon(e)
        raise
    appender.close()
