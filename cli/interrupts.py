"""SIGINT and SIGTERM for the commands that run until interrupted. The handler only appends to
a list: one that set a `threading.Event` could run while the main thread holds that event's own
lock, inside its `wait`, and wait for it forever."""

from __future__ import annotations

import signal
import threading

POLL = 0.5  # seconds between looks: a signal handled on another thread wakes no wait


class Interrupts:
    """Installs the handlers; `wait` returns once either signal has arrived."""

    def __init__(self) -> None:
        self.received: list[int] = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda signum, _: self.received.append(signum))

    def wait(self, or_until: threading.Event | None = None, poll: float = POLL) -> None:
        """Until a signal arrives, or `or_until` is set."""
        done = or_until or threading.Event()
        while not self.received and not done.wait(timeout=poll):
            pass
