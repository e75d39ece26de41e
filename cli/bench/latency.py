"""latency: publish-to-receipt with max_events 1 and flush_interval 0, at a steady rate, beside
a direct POST of each event to the same endpoint at the same rate."""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import urllib3

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row

RATE = 200  # events a second


class _Receipts(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    times: dict[str, float] = {}  # noqa: RUF012  (one sink per run)

    def setup(self) -> None:
        super().setup()  # no Nagle: headers and body go in two writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.perf_counter()
        for event in msgspec.json.decode(body):
            type(self).times[event["id"]] = now
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        """Quiet."""


def _percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def _paced(n: int, send: Callable[[int], object]) -> dict[str, float]:
    sent = {}
    start = time.perf_counter()
    for i in range(n):
        time.sleep(max(0.0, start + i / RATE - time.perf_counter()))
        sent[f"lat-{i}"] = time.perf_counter()
        send(i)
    return sent


def latency(places: Places, n: int) -> list[Row]:
    _Receipts.times = {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receipts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks"

    def event(i: int) -> dict[str, str]:
        return {"type": "signin.session.created", "organization_id": "org_a",
                "context_id": "ctx_a", "session_id": f"ses_{i}", "id": f"lat-{i}"}  # fmt: skip

    with WebhookSystem(places.new("latency.db"), allow_private_networks=True) as system:
        system.subscriptions.create(
            name="latency", url=url, context="ctx_a", max_events=1, flush_interval="0"
        )
        sent = _paced(n, lambda i: system.publish(event(i)))
        deadline = time.time() + 30
        while len(_Receipts.times) < n and time.time() < deadline:
            time.sleep(0.01)
    ours = [_Receipts.times[k] - t for k, t in sent.items() if k in _Receipts.times]

    _Receipts.times = {}
    http = urllib3.PoolManager()
    sent = _paced(n, lambda i: http.request("POST", url, body=msgspec.json.encode([event(i)])))
    base = [_Receipts.times[k] - t for k, t in sent.items()]
    server.shutdown()
    (p50, p99), (b50, b99) = _percentiles(ours), _percentiles(base)
    note = f"{len(ours)} of {n} events at {RATE}/s; baseline: a direct POST per event"
    return [row("latency-p50", p50, "ms", b50, note), row("latency-p99", p99, "ms", b99, note)]
