"""One `run` per database: on SQLite an exclusive lock on a file beside it, released by the
kernel when the holder exits, however it exits; on PostgreSQL a session advisory lock, released by
the server when the holder's connection ends, however it ends."""

from __future__ import annotations

import fcntl
import os
import socket

from signin_webhooks.eventstore import SigninWebhooksError
from signin_webhooks.eventstore.postgres import PostgresDatabase, is_url

_HELD_BY = "signin-webhooks run: "


class AlreadyRunning(SigninWebhooksError):
    pass


def lock_path(db_path: str | os.PathLike[str]) -> str:
    return f"{os.fspath(db_path)}.run.lock"


class RunLock:
    """The file lock of a SQLite database."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise AlreadyRunning(
                f"`run` is already delivering from this database ({holder}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None


def run_lock(location: str | os.PathLike[str]) -> RunLock | ServerRunLock:
    return ServerRunLock(str(location)) if is_url(location) else RunLock(location)


def holder(db_path: str | os.PathLike[str]) -> str | None:
    """Who holds the run lock now, or None when no `run` is up."""
    if is_url(db_path):
        return ServerRunLock(str(db_path)).holder()
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
    finally:
        os.close(fd)
    return None


class ServerRunLock:
    """The advisory lock of a PostgreSQL database, held on a connection of its own whose name
    says who holds it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db: PostgresDatabase | None = None

    def acquire(self) -> None:
        who = f"pid {os.getpid()} on {socket.gethostname()}"
        db = PostgresDatabase(self.url, application=_HELD_BY + who)
        with db.errors():
            (taken,) = db.conn.execute(
                "SELECT pg_try_advisory_lock(?)", [db.lock_key("run")]
            ).fetchone()
        if not taken:
            held_by = self._holder(db) or "another process"
            db.close()
            raise AlreadyRunning(
                f"`run` is already delivering from this database ({held_by}); stop it first"
            )
        self._db = db

    def release(self) -> None:
        if self._db is not None:
            self._db.close()  # the server lets go of the lock with the session
            self._db = None

    def holder(self) -> str | None:
        db = PostgresDatabase(self.url)
        try:
            return self._holder(db)
        finally:
            db.close()

    @staticmethod
    def _holder(db: PostgresDatabase) -> str | None:
        key = db.lock_key("run")
        with db.errors():
            row = db.conn.execute(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
                " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM"
                " pg_database WHERE datname = current_database()) AND l.classid = ?::oid"
                " AND l.objid = ?::oid AND l.objsubid = 1",
                [key >> 32, key & 0xFFFFFFFF],
            ).fetchone()
        if row is None:
            return None
        return row[0].removeprefix(_HELD_BY) or "another process"
