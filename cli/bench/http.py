"""ingest-http and ingest-http-single: events through `POST /api/v1/events` of a `serve` in a
process of its own, beside the Python API's bulk publish of the same events, and beside the
same framework's bare 204 route, in the same run."""

from __future__ import annotations

import concurrent.futures
import functools
import http.client
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import msgspec

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row, timed
from signin_webhooks.cli.samples import sample_events

BATCH = 1000
ROUNDS = 3
CLIENTS = 8
_SERVING = re.compile(rb"at http://127\.0\.0\.1:(\d+)/api/v1;")


class _Server:
    """A server process whose port it names in its output (stderr for serve, stdout for the
    baseline). Its output is read for as long as it runs: a server that writes to a pipe nobody
    reads stops, once the pipe is full, at its next line."""

    def __init__(self, argv: list[str], pattern: re.Pattern[bytes]) -> None:
        self.process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.output, self._pattern, self._started = b"", pattern, threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._started.wait(60)
        found = pattern.search(self.output)
        if found is None:
            self.stop()
            said = self.output.decode(errors="replace")
            raise RuntimeError(f"bench: the server did not start: {said}")
        self.port = int(found.group(1))

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := os.read(self.process.stdout.fileno(), 65536):
            self.output += chunk
            if not self._started.is_set() and self._pattern.search(self.output):
                self._started.set()
        self._started.set()  # the server ended

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join()


def _serve(db: str | Path) -> tuple[_Server, str]:
    with WebhookSystem(db, deliver=False) as system:
        _, token = system.tokens.create(scope="admin", name="bench")
    command = [sys.executable, "-m", "signin_webhooks", "--db", str(db), "serve", "--no-deliver",
               "--port", "0"]  # fmt: skip
    return _Server(command, _SERVING), token


def _post_all(port: int, token: str, bodies: list[bytes], content_type: str) -> None:
    """POST each body in turn on one kept-alive connection; every answer must be a 2xx."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
    try:
        for body in bodies:
            conn.request("POST", "/api/v1/events", body=body, headers=headers)
            answer = conn.getresponse()
            text = answer.read()
            if not 200 <= answer.status < 300:
                raise RuntimeError(f"bench: POST /api/v1/events answered {answer.status}: {text!r}")
    finally:
        conn.close()


def ingest_http(places: Places, n: int, rounds: int = ROUNDS) -> Row:
    lines = [msgspec.json.encode(e) for e in sample_events(n, contexts=["ctx_a", "ctx_b"])]
    data = b"\n".join(lines)
    batches = [b"\n".join(lines[i : i + BATCH]) + b"\n" for i in range(0, n, BATCH)]
    bulk, over_http = [], []
    for i in range(rounds):  # alternating, each on a fresh database; the best of each counts
        with WebhookSystem(places.new(f"http-bulk-{i}.db"), deliver=False) as system:
            bulk.append(timed(functools.partial(system.publish, data)))
        server, token = _serve(places.new(f"http-{i}.db"))
        try:
            over_http.append(timed(functools.partial(
                _post_all, server.port, token, batches, "application/x-ndjson"
            )))  # fmt: skip
        finally:
            server.stop()
    note = (
        f"{n} events in POSTs of {BATCH} from this process to serve's; baseline: ingest-bulk"
        f" of the same events; best of {rounds}"
    )
    return row("ingest-http", n / min(over_http), "events/s", n / min(bulk), note)


def _concurrently(port: int, token: str, bodies: list[bytes]) -> float:
    shares = [bodies[i::CLIENTS] for i in range(CLIENTS)]
    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        start = time.perf_counter()
        for done in [pool.submit(_post_all, port, token, s, "application/json") for s in shares]:
            done.result()
        return time.perf_counter() - start


def ingest_http_single(places: Places, n: int) -> Row:
    bodies = [msgspec.json.encode(e) for e in sample_events(n, contexts=["ctx_a"])]
    command = [sys.executable, "-m", "signin_webhooks.cli.bench.http_baseline"]
    baseline = _Server(command, re.compile(rb"^(\d+)\n"))
    try:
        bare = _concurrently(baseline.port, "", bodies)
    finally:
        baseline.stop()
    server, token = _serve(places.new("http-single.db"))
    try:
        ours = _concurrently(server.port, token, bodies)
    finally:
        server.stop()
    note = f"{n} POSTs of one event from {CLIENTS} clients; baseline the same framework's bare 204"
    return row("ingest-http-single", n / ours, "requests/s", n / bare, note)
