"""One timer thread shared by every actor: pykka has no timers, and a thread per timer would
cost a thread per subscription."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from signin_webhooks.actors.clock import SystemClock

log = logging.getLogger(__name__)


class Timer:
    """A handle to cancel a scheduled call."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Scheduler:
    """Calls functions once a delay has passed on the clock's monotonic time, so that a wall
    clock stepped back holds no timer; callbacks should only `tell`."""

    def __init__(self, clock: SystemClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Timer, Callable[[], None]]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._stopped = False
        self._firing = False
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        clock.on_advance(self._wake)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify()
        if self._thread.is_alive():
            self._thread.join()

    def after(self, seconds: float, callback: Callable[[], None]) -> Timer:
        """Call `callback` once `seconds` have passed."""
        timer = Timer()
        with self._condition:
            due = self.clock.monotonic() + max(seconds, 0.0)
            heapq.heappush(self._heap, (due, next(self._order), timer, callback))
            self._condition.notify()
        return timer

    def quiet(self) -> bool:
        """Whether no timer is due now, and none is being fired."""
        with self._condition:
            now = self.clock.monotonic()
            due = any(at <= now and not timer.cancelled for at, _, timer, _ in self._heap)
            return not (self._firing or due)

    def _wake(self) -> None:
        with self._condition:
            self._condition.notify()

    def _run(self) -> None:
        while True:
            due = []
            with self._condition:
                if self._stopped:
                    return
                now = self.clock.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    due.append(heapq.heappop(self._heap))
                if not due:
                    wait = self._heap[0][0] - now if self._heap else None
                    self.clock.wait(self._condition, wait)
                    continue
                self._firing = True
            for _, _, timer, callback in due:
                if not timer.cancelled:
                    try:
                        callback()
                    except Exception:  # one bad callback must not stop every timer
                        log.exception("timer callback failed")
            with self._condition:
                self._firing = False
