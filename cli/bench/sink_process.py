"""A sink endpoint for the benchmark, run in its own process: it counts what it receives.

`python -m signin_webhooks.cli.bench.sink_process [SECONDS]` prints its port, then serves until
killed, answering each POST after SECONDS if given; GET / returns the counts, GET /?times the
time each event id arrived, DELETE / resets them (DELETE /?times also starts keeping those).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec

_count = msgspec.json.Decoder(list[msgspec.Raw])


class _Identified(msgspec.Struct):
    id: str


_ids = msgspec.json.Decoder(list[_Identified])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    events = 0
    requests = 0
    last = 0.0
    delay = 0.0
    times: dict[str, float] | None = None
    lock = threading.Lock()

    def setup(self) -> None:
        super().setup()  # no Nagle: headers and body go in two writes
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        now = time.time()
        cls = type(self)
        if cls.delay:
            time.sleep(cls.delay)
        if cls.times is not None:
            ids = [e.id for e in _ids.decode(body)]
            n = len(ids)
        else:
            n = body.count(b"\n") if body.endswith(b"\n") else len(_count.decode(body))
        with cls.lock:
            cls.events += n
            cls.requests += 1
            cls.last = now
            if cls.times is not None:
                cls.times.update(dict.fromkeys(ids, now))
        self._answer(b"ok")

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            if self.path.endswith("?times"):
                answer = json.dumps(cls.times or {})
            else:
                answer = json.dumps({"events": cls.events, "requests": cls.requests,
                                     "last": cls.last})  # fmt: skip
        self._answer(answer.encode())

    def do_DELETE(self) -> None:
        cls = type(self)
        with cls.lock:
            cls.events = cls.requests = 0
            cls.times = {} if self.path.endswith("?times") else None
        self._answer(b"reset")

    def _answer(self, body: bytes) -> None:
        with contextlib.suppress(OSError):  # a client that timed out has hung up: nothing to say
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


if __name__ == "__main__":
    _Handler.delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    print(server.server_port, flush=True)
    server.serve_forever()
