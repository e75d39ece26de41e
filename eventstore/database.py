"""Opening the SQLite file: owner-only permissions, WAL, durable commits, clear errors."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path

import sqlite_utils

from signin_webhooks.eventstore.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


def open_database(path: str | os.PathLike[str]) -> sqlite_utils.Database:
    """Open (creating if needed) the database at `path`, readable by its owner only."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"database path '{path}' is a directory; give a file path with --db")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create database '{path}': folder '{path.parent}' does not exist")
    if not path.exists():
        try:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as e:
            raise StoreError(f"cannot create database '{path}': {e.strerror}") from None
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.DatabaseError as e:
        raise store_error(e, path) from None
    if mode != "wal":
        raise StoreError(f"cannot use database '{path}': WAL mode unavailable ({mode})")
    return sqlite_utils.Database(conn)


def store_error(e: sqlite3.Error, path: str | os.PathLike[str]) -> StoreError:
    """Turn a SQLite error into one line that says what to do."""
    text = str(e)
    if "not a database" in text:
        return StoreError(f"'{path}' is not a signin-webhooks database (not SQLite); check --db")
    if "readonly" in text or "read-only" in text:
        return StoreError(
            f"database '{path}' is read-only; check the permissions of it, of its -wal and -shm"
            " files, and of its folder"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database '{path}' is locked by another process for over "
            f"{BUSY_TIMEOUT_MS // 1000}s; try again when it is done"
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
        return StoreError(
            f"database '{path}' is damaged (database disk image is malformed); restore it from"
            " a backup"
        )
    if "unable to open" in text:
        return StoreError(f"cannot open database '{path}'; check the path and its permissions")
    return StoreError(f"database '{path}': {text}")


_TRANSACTION_LOCKS: weakref.WeakKeyDictionary[sqlite_utils.Database, threading.RLock] = (
    weakref.WeakKeyDictionary()
)
_LOCKS_LOCK = threading.Lock()


def _transaction_lock(db: sqlite_utils.Database) -> threading.RLock:
    with _LOCKS_LOCK:
        lock = _TRANSACTION_LOCKS.get(db)
        if lock is None:
            lock = _TRANSACTION_LOCKS[db] = threading.RLock()
        return lock


def create_schema(db: sqlite_utils.Database, script: str) -> None:
    """CREATE ... IF NOT EXISTS statements, run between other threads' transactions (a script
    would COMMIT one open on the same connection)."""
    with _transaction_lock(db):
        db.conn.executescript(script)


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE: take the write lock up front so a concurrent writer waits, not fails.

    A connection holds one transaction at a time: threads sharing it (a host program's calls
    and the delivery actors reading its settings) take turns instead of nesting BEGINs."""
    with _transaction_lock(db):
        conn = db.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
