"""Soak: sustained publish and delivery in one process, watched for leaks. On demand only:

    SOAK_SECONDS=600 .venv/bin/pytest -m soak -s tests/test_soak.py

The system runs in this process on the real clock; the sink that receives the POSTs runs in a
process of its own, so that what is measured here is the system alone. RSS, threads and open
file descriptors are sampled before, during and after; memory must stay flat while it runs, and
threads and descriptors must come back to their count before once it has stopped.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.helpers import event

psutil = pytest.importorskip("psutil")

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("SOAK_SECONDS", "180"))
RATE = 200  # events published per second, in calls of CALL events
CALL = 10
SAMPLE_EVERY = 1.0
MB = 1024 * 1024

# A sink on 127.0.0.1: counts the events of each POST per path, keeps nothing else; GET answers
# the counts. Prints its port once listening.
SINK = """
import http.server, json, threading
counts, lock = {}, threading.Lock()

class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers["Content-Type"] == "application/x-ndjson":
            n = body.count(b"\\n")
        else:
            n = len(json.loads(body))
        with lock:
            counts[self.path] = counts.get(self.path, 0) + n
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with lock:
            body = json.dumps(counts).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "lobby": {"context": "ctx_lobby"},
    "sessions": {
        "context": "ctx_cafe",
        "events": ["signin.session.*"],
        "content_type": "application/x-ndjson",
    },
    "organization": {"organization": "org_acme"},
}


@dataclass(frozen=True)
class Sample:
    at: float
    rss: int
    threads: int  # threading.active_count()
    os_threads: int  # psutil num_threads
    fds: int


def sample(process: Any, started: float) -> Sample:
    return Sample(
        at=time.monotonic() - started,
        rss=process.memory_info().rss,
        threads=threading.active_count(),
        os_threads=process.num_threads(),
        fds=process.num_fds(),
    )


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[Callable[[], dict[str, int]]]:
    """The sink's base URL is `sink.url`; calling it returns the event counts per path."""
    process = subprocess.Popen(
        [sys.executable, "-c", SINK], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    url = f"http://127.0.0.1:{port}"

    def counts() -> dict[str, int]:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())

    counts.url = url  # type: ignore[attr-defined]  # the sink's address rides on its reader
    yield counts
    process.kill()
    process.wait()


def mixed(n: int) -> dict[str, Any]:
    """The n-th event of the soak: three contexts, a DHCP event in four, bodies of other sizes."""
    context = ("ctx_lobby", "ctx_cafe", "ctx_gym")[n % 3]
    type = "signin.dhcp.granted" if n % 4 == 3 else "signin.session.created"
    return event(f"soak-{n}", type, context=context, note="x" * (n % 200))


def expected_count(name: str, published: int) -> int:
    events = (mixed(n) for n in range(published))
    if name == "lobby":
        return sum(e["context_id"] == "ctx_lobby" for e in events)
    if name == "sessions":
        return sum(
            e["context_id"] == "ctx_cafe" and e["type"].startswith("signin.session.")
            for e in events
        )
    return published


def settle(process: Any, before: Sample, started: float, timeout: float = 10.0) -> Sample:
    """The first sample whose threads and descriptors are back to `before`, or the last one:
    threads of cancelled timers and of a shut-down executor take a moment to end."""
    deadline = time.monotonic() + timeout
    while True:
        gc.collect()
        now = sample(process, started)
        back = now.threads <= before.threads and now.fds <= before.fds
        if back or time.monotonic() > deadline:
            return now
        time.sleep(0.1)


def test_sustained_publish_and_delivery_keeps_memory_flat_and_leaks_no_threads_or_fds(
    tmp_path: Path, sink: Any
) -> None:
    process = psutil.Process()
    started = time.monotonic()
    gc.collect()
    before = sample(process, started)

    samples: list[Sample] = []
    published = 0
    with WebhookSystem(tmp_path / "soak.db", allow_private_networks=True) as system:
        for name, scope in SUBSCRIPTIONS.items():
            system.subscriptions.create(
                name=name,
                url=f"{sink.url}/{name}",
                max_events=50,
                flush_interval="1s",
                retry_schedule="1s,2s",
                timeout="5s",
                **scope,
            )
        begin = time.monotonic()
        next_sample = begin
        while (now := time.monotonic()) - begin < SECONDS:
            if now >= next_sample:
                samples.append(sample(process, started))
                next_sample += SAMPLE_EVERY
            system.publish([mixed(published + i) for i in range(CALL)])
            published += CALL
            time.sleep(max(0.0, begin + published / RATE - time.monotonic()))
        publishing = time.monotonic() - begin

        expected = {f"/{name}": expected_count(name, published) for name in SUBSCRIPTIONS}
        deadline = time.monotonic() + 60
        while sink() != expected:
            assert time.monotonic() < deadline, f"delivered {sink()}, expected {expected}"
            time.sleep(0.2)
        during = sample(process, started)
    after = settle(process, before, started)

    quarter = max(1, len(samples) // 4)
    first = statistics.mean(s.rss for s in samples[:quarter])
    last = statistics.mean(s.rss for s in samples[-quarter:])
    peak = max(s.rss for s in samples)
    trend = [round(s.rss / MB, 1) for s in samples[:: max(1, len(samples) // 10)]]
    print(
        f"\nsoak: {publishing:.0f} s, {published} events published"
        f" ({published / publishing:.0f}/s),"
        f" delivered {sum(expected.values())} event copies to {len(expected)} subscriptions"
        f"\nRSS MB: before {before.rss / MB:.1f}, first quarter {first / MB:.1f},"
        f" last quarter {last / MB:.1f}, peak {peak / MB:.1f}, after {after.rss / MB:.1f}"
        f"\nRSS MB by tenth: {trend}"
        f"\nthreads (threading/OS): before {before.threads}/{before.os_threads},"
        f" running {during.threads}/{during.os_threads}, after {after.threads}/{after.os_threads}"
        f"\nfds: before {before.fds}, running {during.fds}, after {after.fds}"
        f"\nthreads while running (min-max): {min(s.threads for s in samples)}"
        f"-{max(s.threads for s in samples)}; fds {min(s.fds for s in samples)}"
        f"-{max(s.fds for s in samples)}"
    )
    assert last <= first + max(20 * MB, 0.15 * first), "memory grew while running"
    # Bounded while running: a pool of actors, one batcher per subscription, a few helpers.
    assert (
        max(s.threads for s in samples[quarter:]) <= max(s.threads for s in samples[:quarter]) + 8
    )
    assert max(s.fds for s in samples[quarter:]) <= max(s.fds for s in samples[:quarter]) + 8
    # And back to where it started once stopped.
    assert after.threads <= before.threads
    assert after.os_threads <= before.os_threads + 1  # the interpreter may keep a helper thread
    assert after.fds <= before.fds
