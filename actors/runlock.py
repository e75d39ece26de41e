"""One `run` per SQLite database: an exclusive lock on a file beside it, released by the kernel
when the holder exits, however it exits. On PostgreSQL several `run`s share the log instead.

The SQLite lock belongs to the database file, not to the name it was given: it lives beside the
file a symlink or a relative path leads to, and a bind mount of the folder shows the same lock
file. A database with a second hard link is refused, as SQLite keeps its write-ahead log beside
each name and the names would not share it."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import socket
import stat

from signin_webhooks.eventstore import SigninWebhooksError, Store, StoreError
from signin_webhooks.eventstore.leases import Worker, workers
from signin_webhooks.eventstore.postgres import is_url
from signin_webhooks.eventstore.settings import InstallationSettings

RECORD = re.compile(rb"(pid \d+ on [^\n]*)?\n?")
RECORD_MAX = 300  # bytes: a longer file is not a lock record


class AlreadyRunning(SigninWebhooksError):
    """Another process delivers from this database; `holder` says which."""

    def __init__(self, holder: str, *, beside: str = "") -> None:
        super().__init__(
            f"`run` is already delivering from this database ({holder}); stop it first{beside}"
        )
        self.holder = holder


class RunLockError(SigninWebhooksError):
    """The lock cannot be taken: its file is unusable, or the database has two names."""


def lock_path(db_path: str | os.PathLike[str]) -> str:
    """Beside the database file itself, wherever the path given leads."""
    return f"{os.path.realpath(db_path)}.run.lock"


class RunLock:
    """The file lock of a SQLite database."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = db_path
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        _refuse_hard_links(self.db_path)
        fd = _open(self.path, os.O_RDWR | os.O_CREAT)
        try:
            _check_ours(fd, self.path)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise AlreadyRunning(_read(fd)) from None
            _check_record(fd, self.path)  # only a lock record is ever overwritten
            record = f"pid {os.getpid()} on {socket.gethostname()}".encode()
            os.pwrite(fd, record, 0)
            os.ftruncate(fd, len(record))
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)  # ours: opened without following links, checked, held
            os.close(self._fd)
            self._fd = None


def refuse_lost_database(db_path: str | os.PathLike[str]) -> None:
    """A SQLite file missing beside its run lock was deleted or moved: a new, empty one made
    in its place would take events that no subscription of the old one ever sees."""
    if is_url(db_path) or os.path.lexists(db_path):
        return
    lock = lock_path(db_path)
    if os.path.lexists(lock):
        raise StoreError(
            f"database '{os.fspath(db_path)}' is not there, though `run` has delivered from it"
            f" ('{lock}' is): it was deleted or moved; restore it from a backup, or remove"
            f" '{lock}' and the old -wal and -shm files to start a new, empty database"
        )


def run_lock(location: str | os.PathLike[str]) -> RunLock | SharedRun:
    return SharedRun() if is_url(location) else RunLock(location)


def holder(db_path: str | os.PathLike[str]) -> str | None:
    """Who holds the run lock now, or None when no `run` is up."""
    if is_url(db_path):
        return describe(workers_running(str(db_path)))
    try:
        fd = os.open(lock_path(db_path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:  # no lock file (or not one `run` would use): nothing holds it
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(fd)
    finally:
        os.close(fd)
    return None


class SharedRun:
    """PostgreSQL: any number of `run`s share the subscriptions through leases
    (actors/workers.py), so there is nothing to hold here."""

    def acquire(self) -> None:
        return None

    def release(self) -> None:
        return None


def workers_running(url: str) -> list[Worker]:
    """The live workers of a PostgreSQL log, each with the subscriptions it owns."""
    store = Store(url)
    try:
        with store.errors():
            duration = InstallationSettings.current(store.project(InstallationSettings()))
            return workers(store.db, duration.worker_lease)
    finally:
        store.close()


def describe(found: list[Worker]) -> str | None:
    if not found:
        return None
    each = ", ".join(f"{w.id}, {w.name}: {len(w.subscriptions)} subscriptions" for w in found)
    return f"{len(found)} worker{'s' if len(found) > 1 else ''} ({each})"


def _open(path: str, flags: int) -> int:
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise RunLockError(
                f"the run lock '{path}' is a symbolic link; `run` keeps its lock in a file of"
                " its own there: remove the link and start again"
            ) from None
        raise RunLockError(
            f"cannot open the run lock '{path}' ({e.strerror}); `run` keeps it beside the"
            " database: make that folder writable by this user"
        ) from None


def _check_ours(fd: int, path: str) -> None:
    """A regular file with one name: never a hard link to a file of someone else's."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > RECORD_MAX:
        raise RunLockError(
            f"'{path}' is not a run lock (a hard link, or some other file); move it away and"
            " start again"
        )


def _check_record(fd: int, path: str) -> None:
    if RECORD.fullmatch(os.pread(fd, RECORD_MAX + 1, 0)) is None:
        raise RunLockError(
            f"'{path}' holds something other than a run lock; move it away and start again"
        )


def _read(fd: int) -> str:
    return os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"


def _refuse_hard_links(db_path: str | os.PathLike[str]) -> None:
    try:
        links = os.stat(db_path).st_nlink
    except OSError:  # not created yet (or unreadable): opening it will say so
        return
    if links > 1:
        raise RunLockError(
            f"database '{os.fspath(db_path)}' has {links} hard links; SQLite keeps its"
            " write-ahead log beside each name, so they would not see one database: remove the"
            " other links and give one path"
        )
