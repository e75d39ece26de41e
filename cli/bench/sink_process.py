"""A sink endpoint for the benchmark, run in its own process: it counts what it receives.

`python -m signin_webhooks.cli.bench.sink_process` prints its port, then serves until killed;
GET / returns the counts, DELETE / resets them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

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


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    print(server.server_port, flush=True)
    server.serve_forever()
