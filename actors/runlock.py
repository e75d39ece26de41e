"""One `run` per SQLite database: an exclusive lock on a file beside it, released by the kernel
when the holder exits, however it exits. On PostgreSQL several `run`s share the log instead."""

from __future__ import annotations

import fcntl
import os
import socket

from signin_webhooks.eventstore import SigninWebhooksError, Store
from signin_webhooks.eventstore.leases import Worker, workers
from signin_webhooks.eventstore.postgres import is_url
from signin_webhooks.eventstore.settings import InstallationSettings


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


def run_lock(location: str | os.PathLike[str]) -> RunLock | SharedRun:
    return SharedRun() if is_url(location) else RunLock(location)


def holder(db_path: str | os.PathLike[str]) -> str | None:
    """Who holds the run lock now, or None when no `run` is up."""
    if is_url(db_path):
        return describe(workers_running(str(db_path)))
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
