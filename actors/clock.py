"""Wall-clock time, injectable: the system runs on `SystemClock`, tests drive a `ManualClock`."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable


class SystemClock:
    """The real time; waiting is real waiting."""

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def wait(self, condition: threading.Condition, seconds: float | None) -> None:
        condition.wait(seconds)

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Real time advances by itself: nothing to listen to."""


class ManualClock(SystemClock):
    """Time that moves only when a test calls `advance`, so a 20-minute flush takes no time."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> dt.datetime:
        return self()

    def advance(self, seconds: float = 0, **delta: float) -> dt.datetime:
        """Move time on (`advance(90)`, `advance(minutes=20)`) and fire what came due."""
        with self._lock:
            self._now += dt.timedelta(seconds=seconds, **delta)
            now = self._now
        for listener in list(self._listeners):
            listener()
        return now

    def wait(self, condition: threading.Condition, seconds: float | None) -> None:
        # Nothing comes due until the clock advances or a timer is added: both notify.
        condition.wait(None if seconds is None or seconds > 0 else 0)

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)
