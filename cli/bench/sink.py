"""The benchmark's sink endpoint, seen from the benchmark: a process of its own
(cli/bench/sink_process.py) that counts what it receives."""

from __future__ import annotations

import subprocess
import sys
import time

import msgspec
import urllib3


class Sink:
    """The sink process, seen from the benchmark."""

    def __init__(self, delay: float | None = None) -> None:
        """`delay`: seconds the sink waits before it answers each POST."""
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "signin_webhooks.cli.bench.sink_process",
                *([] if delay is None else [str(delay)]),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{port}/hooks"
        self.http = urllib3.PoolManager()

    def counts(self) -> dict[str, float]:
        return msgspec.json.decode(self.http.request("GET", self.url).data, type=dict[str, float])

    def wait_for(self, events: int, timeout: float) -> float:
        """Wait until `events` have arrived; returns the wall time of the last receipt."""
        deadline = time.time() + timeout
        while (counts := self.counts())["events"] < events:
            if time.time() > deadline:
                raise TimeoutError(f"sink received {counts['events']} of {events} events")
            time.sleep(0.1)  # the receipt time is the sink's own: polling less costs no precision
        return counts["last"]

    def times(self) -> dict[str, float]:
        """The wall time each event id arrived, since `reset(times=True)`."""
        data = self.http.request("GET", self.url + "?times").data
        return msgspec.json.decode(data, type=dict[str, float])

    def reset(self, *, times: bool = False) -> None:
        self.http.request("DELETE", self.url + ("?times" if times else ""))

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
