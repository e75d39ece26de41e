"""Failover with real processes: three `run` workers on one PostgreSQL log deliver 100
subscriptions' 50,000 events while one of them is SIGKILLed and started again at random moments.
Every event arrives at least once; no subscription ever has two batches in flight at once; each
subscription's batches arrive in sequence order, a re-send repeating a batch byte for byte under
its webhook-id, never reordering."""

from __future__ import annotations

import http.server
import itertools
import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.backends import BACKENDS
from tests.helpers import event, wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)
SUBSCRIPTIONS, EVENTS, WORKERS, KILLS = 100, 50_000, 3, 10
ANSWER_AFTER = 0.002  # seconds each request is held: long enough for an overlap to show


@dataclass(frozen=True)
class Receipt:
    webhook_id: str
    body: bytes
    started: float
    finished: float


class Receiver(http.server.ThreadingHTTPServer):
    """Endpoints /hook/N on 127.0.0.1, each request recorded with when it began and ended."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.receipts: dict[str, list[Receipt]] = defaultdict(list)
        self.ids: set[str] = set()
        self.lock = threading.Lock()

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook/{n}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        started = time.monotonic()
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(ANSWER_AFTER)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        receipt = Receipt(self.headers["webhook-id"], body, started, time.monotonic())
        with self.server.lock:
            self.server.receipts[self.path].append(receipt)
            self.server.ids.update(e["id"] for e in json.loads(body))

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_workers_killed_at_random_lose_nothing_and_keep_each_subscription_in_order(
    database, receiver, command
):
    # A worker's lease outlasts each attempt it starts by the attempt's timeout: a killed
    # worker's subscriptions wait that long for another, so the timeout is short here.
    with WebhookSystem(database, deliver=False, allow_private_networks=True) as system:
        system.settings.set("worker_lease", "2s")
        for n in range(SUBSCRIPTIONS):
            system.subscriptions.create(
                name=f"s{n}", url=receiver.url(n), context=f"ctx_{n}", max_events=50,
                flush_interval="0s", timeout="3s",
            )  # fmt: skip
    env = {**os.environ, "SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true"}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [command, "--db", database, "run"], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    workers = [start() for _ in range(WORKERS)]
    published = [f"e{n % SUBSCRIPTIONS}_{n}" for n in range(EVENTS)]
    chaos = random.Random()
    try:
        with WebhookSystem(database, deliver=False) as publisher:
            for kill in range(KILLS):
                chunk = published[kill * EVENTS // KILLS : (kill + 1) * EVENTS // KILLS]
                publisher.publish([event(i, context=f"ctx_{i[1:].split('_')[0]}") for i in chunk])
                time.sleep(chaos.uniform(0.2, 1.5))  # a random moment of the delivery
                victim = chaos.randrange(WORKERS)
                workers[victim].send_signal(signal.SIGKILL)
                workers[victim].wait(timeout=10)
                workers[victim] = start()

        def delivered() -> bool:
            with receiver.lock:
                return len(receiver.ids) >= EVENTS

        wait_until(delivered, "every event to arrive", timeout=300, interval=0.5)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()

    assert receiver.ids == set(published)  # every event, at least once
    for path, receipts in receiver.receipts.items():
        spans = sorted((r.started, r.finished) for r in receipts)
        for (_, end), (start_next, _) in itertools.pairwise(spans):
            assert start_next >= end, f"{path}: two batches in flight at once"
        bodies: dict[str, bytes] = {}
        highest = 0
        for receipt in sorted(receipts, key=lambda r: r.started):
            sequences = [e["sequence"] for e in json.loads(receipt.body)]
            assert sequences == sorted(sequences), f"{path}: a batch out of order"
            if receipt.webhook_id in bodies:  # a re-send: the same batch, byte for byte
                assert receipt.body == bodies[receipt.webhook_id], path
                continue
            assert sequences[0] > highest, f"{path}: {receipt.webhook_id} reordered"
            bodies[receipt.webhook_id] = receipt.body
            highest = sequences[-1]
