"""The log on a SQLite file: owner-only permissions, WAL, durable commits, clear errors; and the
few statements that differ on PostgreSQL (eventstore/postgres.py keeps those).

sqlite-utils looks the file over as it opens (its tables); what runs for every
event (appends, reads of the log) stays prepared statements on the sqlite3 connection."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from signin_webhooks.eventstore.errors import NoDatabase, StoreError
from signin_webhooks.eventstore.event_types import sqlite_glob

BUSY_TIMEOUT_MS = 10_000
BACKGROUND_CACHE_KIB = 256
# AUTOINCREMENT: a sequence is never reused, even after retention deletes rows.
EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    organization_id TEXT,
    context_id TEXT,
    occurred_at TEXT,
    recorded_at TEXT NOT NULL,
    assigned INTEGER NOT NULL DEFAULT 0,
    internal INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_internal ON events (sequence) WHERE internal = 1;
"""
LOG_COLUMNS = ("sequence", "id", "type", "recorded_at", "body")  # what tells the log's table apart
COPY = (
    "INSERT INTO events (sequence, id, type, organization_id, context_id, occurred_at,"
    " recorded_at, assigned, internal, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT = (
    "INSERT INTO events (id, type, organization_id, context_id, occurred_at, recorded_at,"
    " assigned, internal, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def open_database(path: str | os.PathLike[str], *, create: bool = True) -> SqliteDatabase:
    """Open the database at `path`, creating it readable by its owner only if `create`: a
    read alone never leaves a new file behind for a mistyped path."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"database path '{path}' is a directory; give «db» a file path")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create database '{path}': folder '{path.parent}' does not exist")
    if not path.exists() and not create:
        raise NoDatabase(f"database '{path}' does not exist")
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:
            raise StoreError(f"cannot create database '{path}': {e.strerror}") from None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    except sqlite3.DatabaseError as e:
        raise store_error(e, path) from None
    started = time.monotonic()
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        tables = sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
        found = tables.table_names()
        if found and not set(LOG_COLUMNS) <= set(tables["events"].columns_dict):
            raise _another_programs(path, found)  # before anything is changed in it
        mode = _use_wal(conn)
        conn.execute("PRAGMA synchronous = FULL")
        if mode != "wal":
            raise StoreError(f"cannot use database '{path}': WAL mode unavailable ({mode})")
    except BaseException as e:
        conn.close()
        if isinstance(e, sqlite3.DatabaseError):
            raise store_error(e, path, time.monotonic() - started) from None
        raise
    return SqliteDatabase(conn, str(path))


_pause = time.sleep  # between tries of the switch to WAL


def _use_wal(conn: sqlite3.Connection) -> str:
    """Put the file in WAL mode (the file keeps it), and return the mode it is in. When two
    processes make a new file at once, SQLite refuses the second switch at once instead of
    waiting (it holds a read lock and needs the write lock the first one holds), whatever the
    busy timeout: the switch is tried again, as SQLite waits on any other lock, until the busy
    timeout has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = wal").fetchone()[0])
        except sqlite3.OperationalError as e:
            if e.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        _pause(pause)
        pause = min(pause * 2, 0.05)


def _another_programs(path: str | os.PathLike[str], tables: list[str]) -> StoreError:
    shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
    return StoreError(
        f"'{path}' is a SQLite database of another program (its tables: {shown}), not a"
        " signin-webhooks database; give «db» a signin-webhooks database or a new file"
    )


def store_error(
    e: sqlite3.Error, path: str | os.PathLike[str], waited: float | None = None
) -> StoreError:
    """Turn a SQLite error into one line that says what to do. `waited`: the seconds since the
    work that failed began, when known; a lock is said to have been waited for only if it was."""
    text = str(e)
    if "not a database" in text:
        return StoreError(f"'{path}' is not a signin-webhooks database (not SQLite); check «db»")
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"database '{path}' is read-only; check the permissions of it, of its -wal and -shm"
            " files, and of its folder"
        )
    if "locked" in text or "busy" in text:
        timeout = BUSY_TIMEOUT_MS / 1000
        if waited is not None and waited < timeout:
            return StoreError(
                f"database '{path}' is locked by another process, and SQLite gave up on it"
                " without waiting; try again"
            )
        return StoreError(
            f"database '{path}' is locked by another process for over {timeout:g}s; try again"
            " when it is done"
        )
    if "disk is full" in text or "full" in text:
        return StoreError(f"database '{path}': disk full; free space and try again")
    if "disk I/O error" in text:  # a write refused for its size (quota, file size limit) lands here
        return StoreError(
            f"database '{path}': the disk refused a read or write"
            f" ({getattr(e, 'sqlite_errorname', 'disk I/O error')}); check free space, quotas and"
            " file size limits, then try again"
        )
    if "malformed" in text:
        return damaged(path)
    if "unable to open" in text and _read_only_filesystem(path):
        return StoreError(
            f"database '{path}' is on a read-only file system; mount it writable, or give a"
            " database on one with «db»"
        )
    if "unable to open" in text:
        return StoreError(f"cannot open database '{path}'; check the path and its permissions")
    return StoreError(f"database '{path}': {text}")


def _read_only_filesystem(path: str | os.PathLike[str]) -> bool:
    try:
        return bool(os.statvfs(Path(path).parent).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def damaged(path: str | os.PathLike[str]) -> StoreError:
    return StoreError(
        f"database '{path}' is damaged (database disk image is malformed); restore it from a backup"
    )


class SqliteDatabase:
    """One connection to the file. A connection holds one transaction at a time: threads sharing
    it (a host program's calls and the delivery actors reading its settings) take turns instead of
    nesting BEGINs."""

    kind = "sqlite"
    shares_connections = False  # connections are cheap: every actor that reads has its own

    def __init__(self, conn: sqlite3.Connection, location: str) -> None:
        self.conn = conn
        self.location = location
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except sqlite3.Error as e:
            raise store_error(e, self.location, time.monotonic() - started) from None

    def create_schema(self, script: str) -> None:
        """CREATE ... IF NOT EXISTS statements, run between other threads' transactions (a
        script would COMMIT one open on the same connection)."""
        with self._lock:
            self.conn.executescript(script)

    @contextlib.contextmanager
    def write_transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front so a concurrent writer waits, not
        fails."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """Reads that all see the file as it was at the first one (a read transaction in WAL
        mode), whatever other connections commit meanwhile."""
        with self._lock:
            conn = self.conn
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # it starts here
                yield conn
            finally:
                conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def exclusive(self, purpose: str, *, wait: bool = True) -> Iterator[bool]:
        """Nothing to take: one `run` holds the file's run lock, and its writes are the one
        writer's."""
        yield True

    def hold_head(self, conn: sqlite3.Connection) -> None:
        """Nothing to take: BEGIN IMMEDIATE already made this the one writer."""

    def lock_projection(self, conn: sqlite3.Connection, name: str) -> None:
        """Nothing to take: BEGIN IMMEDIATE already made this the one writer."""

    def events_schema(self) -> str:
        return EVENTS

    @contextlib.contextmanager
    def appending(self, conn: sqlite3.Connection) -> Iterator[SqliteAppending]:
        """Numbering and writing this transaction's events: BEGIN IMMEDIATE already made this
        the one writer."""
        yield SqliteAppending(conn)

    def insert_events(self, conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> int:
        return SqliteAppending(conn).insert(rows)

    def copy_events(self, conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
        """Rows of another log, their sequences as they are."""
        conn.executemany(COPY, rows)

    def set_head(self, conn: sqlite3.Connection, last: int) -> None:
        """The highest sequence handed out: the next append numbers after it."""
        if conn.execute(
            "UPDATE sqlite_sequence SET seq = ? WHERE name = 'events'", [last]
        ).rowcount:
            return
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?)", [last])

    def last_sequence(self) -> int:
        row = self.conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
        found = row.fetchone()
        return found[0] if found else 0

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap way to notice new events."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def glob(self, column: str) -> str:
        return f"{column} GLOB ?"

    def glob_arg(self, pattern: str) -> str:
        return sqlite_glob(pattern)

    def joined(self, expression: str) -> str:
        """An aggregate of `expression` over a group's rows as comma-separated text, in the
        order the rows are read (SQLite 3.40 cannot order an aggregate: callers check)."""
        return f"group_concat({expression})"

    def with_text(self, blob: str, text: str) -> str:
        """The bytes of `blob` followed by those of `text` (UTF-8), as a blob."""
        return f"CAST({blob} || {text} AS BLOB)"

    def configure_background(self) -> None:
        """A connection of the running system. What it writes (batches sealed, attempts) is
        re-derived or re-sent if lost, so its commits skip the fsync (still safe against a
        crashed process) and it leaves WAL checkpoints to `checkpoint()`."""
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        # The system holds some twenty connections; SQLite's default cache of 2 MB each would
        # grow with the database to 40 MB. Reads here are by key, in order.
        self.conn.execute(f"PRAGMA cache_size = -{BACKGROUND_CACHE_KIB}")

    def checkpoint(self) -> None:
        """Copy the WAL into the database without blocking writers (a PASSIVE checkpoint)."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self.conn.close()


class SqliteAppending:
    _LOOKUP = 500  # ids looked up a statement

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def insert(self, rows: list[tuple[object, ...]]) -> int:
        """Write the rows, numbered after the last; returns the last sequence."""
        self._conn.executemany(INSERT, rows)
        return int(self._conn.execute("SELECT last_insert_rowid()").fetchone()[0])

    def bodies(self, ids: list[str]) -> dict[str, bytes]:
        """The bodies of the events of the log (this transaction's included) with these ids."""
        found: dict[str, bytes] = {}
        for i in range(0, len(ids), self._LOOKUP):
            chunk = ids[i : i + self._LOOKUP]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT id, body FROM events WHERE id IN ({marks})"
            found.update(self._conn.execute(sql, chunk))
        return found


class Appending(Protocol):
    """One transaction's appends: SqliteAppending, or postgres_appends.PostgresAppending."""

    def insert(self, rows: list[tuple[Any, ...]]) -> int: ...
    def bodies(self, ids: list[str]) -> dict[str, bytes]: ...


class Database(Protocol):
    """What the log and the projections ask of a backend: SqliteDatabase here, or
    eventstore.postgres.PostgresDatabase. `conn.execute` takes the statements written with `?`."""

    kind: str
    location: str
    shares_connections: bool
    conn: Any

    def errors(self) -> contextlib.AbstractContextManager[None]: ...
    def create_schema(self, script: str) -> None: ...
    def write_transaction(self) -> contextlib.AbstractContextManager[Any]: ...
    def snapshot(self) -> contextlib.AbstractContextManager[Any]: ...
    def exclusive(
        self, purpose: str, *, wait: bool = True
    ) -> contextlib.AbstractContextManager[bool]: ...
    def hold_head(self, conn: Any) -> None: ...
    def lock_projection(self, conn: Any, name: str) -> None: ...
    def events_schema(self) -> str: ...
    def appending(self, conn: Any) -> contextlib.AbstractContextManager[Appending]: ...
    def insert_events(self, conn: Any, rows: list[tuple[Any, ...]]) -> int: ...
    def copy_events(self, conn: Any, rows: list[tuple[Any, ...]]) -> None: ...
    def set_head(self, conn: Any, last: int) -> None: ...
    def last_sequence(self) -> int: ...
    def data_version(self) -> int: ...
    def glob(self, column: str) -> str: ...
    def glob_arg(self, pattern: str) -> str: ...
    def joined(self, expression: str) -> str: ...
    def with_text(self, blob: str, text: str) -> str: ...
    def configure_background(self) -> None: ...
    def checkpoint(self) -> None: ...
    def close(self) -> None: ...


def create_schema(db: Database, script: str) -> None:
    db.create_schema(script)


def write_transaction(db: Database) -> contextlib.AbstractContextManager[Any]:
    return db.write_transaction()
