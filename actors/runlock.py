"""One `run` per database: an exclusive lock on a file beside it, released by the kernel when
the holder exits, however it exits."""

from __future__ import annotations

import fcntl
import os
import socket

from signin_webhooks.eventstore import SigninWebhooksError


class AlreadyRunning(SigninWebhooksError):
    pass


def lock_path(db_path: str | os.PathLike[str]) -> str:
    return f"{os.fspath(db_path)}.run.lock"


class RunLock:
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


def holder(db_path: str | os.PathLike[str]) -> str | None:
    """Who holds the run lock now, or None when no `run` is up."""
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
