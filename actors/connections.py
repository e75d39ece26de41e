"""The connections an attempt runs on: urllib3 pools whose sockets a total deadline can shut,
and a cap on attempts at once per host.

urllib3's timeouts are per socket operation, so an endpoint trickling one byte at a time would
hold an attempt for ever. A `Deadline` is total instead: a timer shuts the attempt's socket when
it passes, which wakes whatever read or write is blocked on it. The pools here tell the deadline
which socket is the attempt's, and take it back from the deadline when urllib3 returns the
connection, so a deadline never shuts a socket another attempt has taken up since.

`HostSlots` lets at most `max_connections_per_host` attempts run at once per address and port
connected to, so endpoints that hang until their timeout hold up only their own machine, under
whatever names it is reached. It is the one cap on connections at once: the transport's urllib3
pools are made with `block=False` and only keep idle connections for reuse.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from urllib3 import HTTPConnectionPool, HTTPSConnectionPool

if TYPE_CHECKING:  # the protocol urllib3's pools are typed with, defined for type checkers only
    from urllib3._base_connection import BaseHTTPConnection
from urllib3.connection import HTTPConnection, HTTPSConnection


class _Watcher:
    """One thread for every deadline: it sleeps until the earliest and fires what is due, so an
    attempt costs no thread of its own to time it. Once none is left it waits a minute for the
    next before it goes, so attempts one after the other start no thread each."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Deadline]] = []
        self._changed = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._count = 0
        self._compact_at = _COMPACT_AT
        self._asleep_until = -math.inf  # the thread sleeps until then; -inf: it is not asleep

    def add(self, deadline: Deadline) -> None:
        with self._changed:
            self._count += 1
            heapq.heappush(self._due, (deadline.at, self._count, deadline))
            if len(self._due) > self._compact_at:  # deadlines ended behind a later one
                self._due = [due for due in self._due if not due[2].over]
                heapq.heapify(self._due)
                self._compact_at = max(_COMPACT_AT, 2 * len(self._due))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="signin-webhooks-deadline", daemon=True
                )
                self._thread.start()
            elif deadline.at < self._asleep_until:  # it must wake earlier than it would
                self._changed.notify()

    def ended(self, deadline: Deadline) -> None:
        """Drop the ended deadlines the earliest is among, here rather than on the thread: it
        wakes when the one it waits for is due (to find the next), never at an attempt's end."""
        with self._changed:
            while self._due and self._due[0][2].over:
                heapq.heappop(self._due)

    def _run(self) -> None:
        idle_since: float | None = None
        while True:
            with self._changed:
                while self._due and self._due[0][2].over:
                    heapq.heappop(self._due)  # ended before it was due
                now = time.monotonic()
                if not self._due:  # kept a while for the next attempt: a thread start is slow
                    idle_since = now if idle_since is None else idle_since
                    if now - idle_since >= _LINGER:
                        self._thread = None
                        return
                    self._sleep(idle_since + _LINGER - now)
                    continue
                idle_since = None
                at, _, deadline = self._due[0]
                if at > now:
                    self._sleep(at - now)
                    continue
                heapq.heappop(self._due)
            deadline._fire()

    def _sleep(self, seconds: float) -> None:
        """Wait for `seconds`, or until a deadline due sooner is added (the lock held)."""
        self._asleep_until = time.monotonic() + seconds
        try:
            self._changed.wait(seconds)
        finally:
            self._asleep_until = -math.inf


_COMPACT_AT = 1024  # deadlines held before those ended are dropped from the middle
_LINGER = 60.0  # seconds the thread waits for another deadline before it goes
_watcher = _Watcher()


class Deadline:
    """The end of one attempt. When it passes, the attempt's socket is shut down."""

    def __init__(self, seconds: float, since: float | None = None):
        """`seconds` from `since` (monotonic time), or from now."""
        self.seconds = seconds
        self.at = (time.monotonic() if since is None else since) + seconds
        self._conn: HTTPConnection | None = None
        self._fired = False
        self.over = False
        _watcher.add(self)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        return self._fired or time.monotonic() >= self.at

    def watch(self, conn: HTTPConnection) -> None:
        with _owners:
            if self.over:
                return
            self._conn = conn
            conn.signin_webhooks_deadline = self  # type: ignore[attr-defined]  # ours, on theirs
            if self._fired:
                _shut(conn)

    def _fire(self) -> None:
        with _owners:
            if self.over:
                return
            self._fired = True
            # On an error urllib3 returns the connection to its pool before this attempt ends:
            # another attempt may own it by now, and its socket is not ours to shut.
            conn = self._conn
            if conn is not None and getattr(conn, "signin_webhooks_deadline", None) is self:
                _shut(conn)

    def end(self) -> bool:
        """Disarm, before the connection goes back to the pool; whether it had fired."""
        with _owners:
            self.over = True
            self._conn = None
            fired = self._fired
        _watcher.ended(self)
        return fired


# Held while a connection changes owner or is shut, so a deadline never shuts another's socket.
_owners = threading.Lock()


def _shut(conn: HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            # The plain socket call, even under TLS: it only needs to wake the blocked thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


# urllib3 makes and reuses connections inside urlopen(); these hooks tell the attempt running on
# this thread which connection to shut when its deadline passes.
_current = threading.local()


@contextlib.contextmanager
def watching(deadline: Deadline) -> Iterator[None]:
    """Hand `deadline` every connection this thread connects or sends on, until the block ends."""
    _current.deadline = deadline
    try:
        yield
    finally:
        _current.deadline = None


def _watch(conn: HTTPConnection) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(conn)


class _Watched:
    def connect(self) -> None:
        _watch(self)  # type: ignore[arg-type]  # owned before its socket exists
        super().connect()  # type: ignore[misc]  # a mixin: the connection class is next in line
        _watch(self)  # type: ignore[arg-type]  # shut at once if the deadline passed meanwhile

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self)  # type: ignore[arg-type]  # a mixin of HTTPConnection
        super().request(*args, **kwargs)  # type: ignore[misc]  # the connection class is next


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _Disowning:
    def _put_conn(self, conn: BaseHTTPConnection | None) -> None:
        # urllib3 gives a connection back on errors and at the end of a body, before the attempt
        # that used it has ended: from then on, that attempt's deadline must leave it alone.
        if conn is not None:
            with _owners:
                conn.signin_webhooks_deadline = None  # type: ignore[attr-defined]  # ours, on theirs
        super()._put_conn(conn)  # type: ignore[misc]  # a mixin: the pool class is next in line


class HTTPPool(_Disowning, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class HTTPSPool(_Disowning, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class Abandoned(Exception):
    """The system is stopping: an attempt still waiting for a connection starts no more."""


@dataclass
class _HostSlot:
    free: threading.Condition
    busy: int = 0
    users: int = 0


class HostSlots:
    """At most `cap` attempts at once per address and port connected to, whatever names lead
    there (`127.1`, `0x7f000001` and `localhost` are one endpoint machine)."""

    def __init__(self, cap: int):
        self._cap = cap
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, int], _HostSlot] = {}
        self._abandoned = False

    @contextlib.contextmanager
    def hold(self, key: tuple[str, int], timeout: float) -> Iterator[bool]:
        """Whether a place came free within `timeout`; raises Abandoned once `abandon` is called."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _HostSlot(threading.Condition(self._lock))
            slot.users += 1
            got = (
                self._abandoned
                or slot.busy < self._cap
                or slot.free.wait_for(lambda: self._abandoned or slot.busy < self._cap, timeout)
            )
            got = got and not self._abandoned
            if got:
                slot.busy += 1
            else:
                self._leave(key, slot)
                if self._abandoned:
                    raise Abandoned(f"stopping: no attempt to {key[0]}:{key[1]} started")
        try:
            yield got
        finally:
            if got:
                with self._lock:
                    slot.busy -= 1
                    slot.free.notify()
                    self._leave(key, slot)

    def abandon(self) -> None:
        """Wake every attempt waiting for a place: each raises Abandoned."""
        with self._lock:
            self._abandoned = True
            for slot in self._slots.values():
                slot.free.notify_all()

    def _leave(self, key: tuple[str, int], slot: _HostSlot) -> None:
        slot.users -= 1
        if slot.users == 0:
            del self._slots[key]
