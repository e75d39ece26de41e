"""deliver-workers (PostgreSQL): events delivered per second by 1, 2 and 3 `run` workers sharing
one log, to endpoints that answer after 50 ms, each beside one worker. A worker keeps at most
`connections_per_host` (4) requests in flight to one host, so slow endpoints are where more
workers pay."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import add_subscriptions
from signin_webhooks.cli.bench.sink import Sink
from signin_webhooks.cli.samples import sample_events

COUNTS = (1, 2, 3)
BATCH = 10
SLOW_ANSWER = 0.05  # seconds before the endpoints answer


def deliver_workers(places: Places, n_events: int, n_subs: int = 30) -> list[Row]:
    sink = Sink(delay=SLOW_ANSWER)
    try:
        return _measure(places, sink, n_events, n_subs)
    finally:
        sink.close()


def _measure(places: Places, sink: Sink, n_events: int, n_subs: int) -> list[Row]:
    contexts = [f"ctx_{i}" for i in range(n_subs)]
    specs = [
        {"name": c, "url": sink.url, "context": c,
         "max_events": BATCH, "flush_interval": "1h"}
        for c in contexts
    ]  # fmt: skip
    events = b"\n".join(
        msgspec.json.encode(e) for e in sample_events(n_events, contexts=contexts, seed=7)
    )
    rates: dict[int, float] = {}
    for count in COUNTS:
        db = places.new(f"workers-{count}.db")
        add_subscriptions(db, specs)
        workers = [_worker(db) for _ in range(count)]
        try:
            _wait_for_shares(str(db), count, n_subs)
            sink.reset()
            start = time.time()
            with WebhookSystem(db, deliver=False) as publisher:
                publisher.publish(events)
            rates[count] = n_events / (sink.wait_for(n_events, timeout=900) - start)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(timeout=60)
    note = (
        f"{n_subs} subscriptions, {n_events} events in batches of {BATCH}, endpoints answering"
        " after 50 ms; baseline one worker"
    )
    return [
        row(f"deliver-workers-{count}", rates[count], "events/s", rates[1], note)
        for count in COUNTS
    ]


def _worker(db: str | Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true"}
    return subprocess.Popen(
        [sys.executable, "-m", "signin_webhooks", "--db", str(db), "run"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def _wait_for_shares(url: str, count: int, n_subs: int, timeout: float = 120) -> None:
    """Until every worker is up and owns its even share (measuring from there)."""
    share = math.ceil(n_subs / count)
    deadline = time.monotonic() + timeout
    with WebhookSystem(url, deliver=False) as system:
        while time.monotonic() < deadline:
            owned = [len(w["subscriptions"]) for w in system.workers()]
            if len(owned) == count and sum(owned) == n_subs and max(owned) <= share:
                return
            time.sleep(0.1)
    raise TimeoutError(f"{count} workers did not share {n_subs} subscriptions in {timeout:g}s")
