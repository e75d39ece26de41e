"""A sink endpoint for the benchmark, run in its own process: it counts what it receives.

`python -m cli.bench.sink` prints its port, then serves until killed; GET / returns the counts.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import urllib3

_count = msgspec.json.Decoder(list[msgspec.Raw])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    events = 0
    requests = 0
    last = 0.0
    lock = threading.Lock()

    def setup(self) -> None:
        super().setup()  # no Nagle: headers and body go in two writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n = body.count(b"\n") if body.endswith(b"\n") else len(_count.decode(body))
        cls = type(self)
        with cls.lock:
            cls.events += n
            cls.requests += 1
            cls.last = time.time()
        self._answer(b"ok")

    def do_GET(self) -> None:
        cls = type(self)
        counts = {"events": cls.events, "requests": cls.requests, "last": cls.last}
        self._answer(json.dumps(counts).encode())

    def do_DELETE(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.events = cls.requests = 0
        self._answer(b"reset")

    def _answer(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


class Sink:
    """The sink process, seen from the benchmark."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli.bench.sink"], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{port}/hooks"
        self.http = urllib3.PoolManager()

    def counts(self) -> dict[str, float]:
        return json.loads(self.http.request("GET", self.url).data)

    def wait_for(self, events: int, timeout: float) -> float:
        """Wait until `events` have arrived; returns the wall time of the last receipt."""
        deadline = time.time() + timeout
        while (counts := self.counts())["events"] < events:
            if time.time() > deadline:
                raise TimeoutError(f"sink received {counts['events']} of {events} events")
            time.sleep(0.02)
        return counts["last"]

    def reset(self) -> None:
        self.http.request("DELETE", self.url)

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_port, flush=True)
    server.serve_forever()
