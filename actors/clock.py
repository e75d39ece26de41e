"""Time, injectable: the system runs on `SystemClock`, tests drive a `ManualClock`.

A clock has two faces. Calling it gives the wall-clock time, which is what the log records and
people read; `monotonic()` gives seconds that only move forward, which is what timers wait on,
so that a wall clock stepped back (by NTP, or by hand) holds no flush and no retry.

It is also where chance comes from (`random()`, for the retry jitter): a test that holds time
still holds chance still with it, and a test of the jitter hands the clock its own source."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable


class SystemClock:
    """The real time; waiting is real waiting."""

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def random(self) -> float:
        """A number in [0, 1), for the retry jitter."""
        return random.random()

    def wait(self, condition: threading.Condition, seconds: float | None) -> None:
        condition.wait(seconds)

    def on_advance(self, listener: Callable[[], None]) -> None:
        """Real time advances by itself: nothing to listen to."""


class ManualClock(SystemClock):
    """Time that moves only when a test calls `advance`, so a 20-minute flush takes no time."""

    def __init__(
        self, start: dt.datetime | None = None, random: Callable[[], float] | None = None
    ) -> None:
        """`random`: the source of chance, by default always 0 (no jitter: a retry comes due
        exactly on its schedule)."""
        self._now = start or dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        self._random = random or (lambda: 0.0)
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> dt.datetime:
        return self()

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def random(self) -> float:
        return self._random()

    def advance(self, seconds: float = 0, **delta: float) -> dt.datetime:
        """Move time on (`advance(90)`, `advance(minutes=20)`) and fire what came due."""
        step = dt.timedelta(seconds=seconds, **delta)
        if step < dt.timedelta(0):
            raise ValueError("time only moves forward; step the wall clock with `step`")
        with self._lock:
            self._now += step
            self._elapsed += step.total_seconds()
            now = self._now
        self._notify()
        return now

    def step(self, seconds: float = 0, **delta: float) -> dt.datetime:
        """Set the wall clock forward or back (`step(hours=-1)`), as NTP or an operator would:
        elapsed time does not move, so no timer comes due."""
        with self._lock:
            self._now += dt.timedelta(seconds=seconds, **delta)
            now = self._now
        self._notify()
        return now

    def _notify(self) -> None:
        for listener in list(self._listeners):
            listener()

    def wait(self, condition: threading.Condition, seconds: float | None) -> None:
        # Nothing comes due until the clock advances or a timer is added: both notify.
        condition.wait(None if seconds is None or seconds > 0 else 0)

    def on_advance(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)
