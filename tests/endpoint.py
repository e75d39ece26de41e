"""A real HTTP endpoint on 127.0.0.1 that misbehaves on request, for every delivery test.

Built on raw sockets rather than http.server so that it can also do what no well-behaved server
does: reset the connection, hang, trickle, stream without end, or answer garbage. Each request is
recorded before the endpoint acts on it, so a test can wait for a request and then assert on what
the client saw; and once the endpoint is done with it, how much of the response it wrote and
whether the client hung up first, so a test can tell what the client gave up on.
"""

import contextlib
import http
import re
import select
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import pytest

HOST = "127.0.0.1"
_CHUNK = 64 * 1024
_REQUEST_LINE = re.compile(rb"[A-Z]+ ")


@dataclass(frozen=True)
class Received:
    """One request as the endpoint read it off the wire."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float  # time.monotonic()
    connection: int  # 1 for the first connection accepted, 2 for the next...


@dataclass(frozen=True)
class Served:
    """How the endpoint's side of one request ended."""

    request: Received
    written: int  # bytes of the response its socket took (head included), not all read
    hung_up: bool  # the client closed the connection before the endpoint was done


@dataclass(frozen=True)
class Reply:
    """An ordinary response; Content-Length is added."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True)
class Reset:
    """Read the request, then abort the connection with a TCP RST."""


@dataclass(frozen=True)
class Hang:
    """Read the request and answer nothing until the client hangs up or the endpoint stops."""


@dataclass(frozen=True)
class Trickle:
    """Send `reply` one byte at a time, `delay` seconds apart, status line included."""

    reply: Reply = field(default_factory=lambda: Reply(200, body=b"trickled"))
    delay: float = 0.2


@dataclass(frozen=True)
class Huge:
    """A response whose body is `size` bytes, streamed as fast as the client reads it."""

    size: int = 100 * 1024 * 1024
    status: int = 200


@dataclass(frozen=True)
class Malformed:
    """Send bytes that are not an HTTP response, then close."""

    data: bytes = b"THIS IS NOT HTTP\r\nat all\r\n\r\n"


Behaviour = Reply | Reset | Hang | Trickle | Huge | Malformed


def closed_port_url(path: str = "/hook") -> str:
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    return f"http://{HOST}:{port}{path}"


class Endpoint:
    """The server: start it (or use it as a context manager), point a URL at it, read what came."""

    def __init__(self, default: Behaviour | None = None, *, tls: ssl.SSLContext | None = None):
        self._tls = tls
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._defaults: dict[str | None, Behaviour] = {None: default or Reply(200)}
        self._queues: dict[str | None, deque[Behaviour]] = {}
        self._requests: list[Received] = []
        self._served: list[Served] = []
        self._connections = 0
        self._sockets: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((HOST, 0))
        self.port: int = self._listener.getsockname()[1]

    @property
    def url(self) -> str:
        """The endpoint's base URL, without a path."""
        return f"{'https' if self._tls else 'http'}://{HOST}:{self.port}"

    def url_for(self, path: str = "/hook", host: str = HOST) -> str:
        """A URL to `path` here; `host` lets a test resolver map another name to this endpoint."""
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}{path}"

    def respond(self, *behaviours: Behaviour, path: str | None = None) -> None:
        """Queue behaviours for the next requests (to `path`, or any path), each used once."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(behaviours)

    def set_default(self, behaviour: Behaviour, path: str | None = None) -> None:
        """What requests (to `path`, or any path) get once the queues are empty."""
        with self._lock:
            self._defaults[path] = behaviour

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted."""
        with self._lock:
            return self._connections

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Received]:
        """Block until at least `n` requests arrived; fail the test if they do not in time."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= n, timeout):
                raise AssertionError(f"expected {n} requests, got {len(self._requests)}")
            return list(self._requests)

    def wait_served(self, n: int, timeout: float = 5.0) -> list[Served]:
        """Block until the endpoint is done with at least `n` requests; fail the test if not."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._served) >= n, timeout):
                raise AssertionError(f"expected {n} requests served, got {len(self._served)}")
            return list(self._served)

    def start(self) -> "Endpoint":
        self._spawn(self._accept_loop, "endpoint-accept")
        return self

    def stop(self) -> None:
        """Release every hanging handler, close every socket and join every thread."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                # The plain socket's shutdown, even under TLS: it wakes a blocked recv() at once.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)
        leaked = [t.name for t in self._threads if t.is_alive()]
        assert not leaked, f"endpoint threads still running: {leaked}"

    def __enter__(self) -> "Endpoint":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn(self, target, name: str, *args) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._connections += 1
                number = self._connections
                self._sockets.add(sock)
                self._changed.notify_all()
                if self._stopping.is_set():  # stop() may have missed this socket
                    sock.close()
                    return
            self._spawn(self._serve, f"endpoint-conn-{number}", sock, number)

    def _serve(self, sock: socket.socket, number: int) -> None:
        conn = sock
        try:
            if self._tls:
                conn = self._tls.wrap_socket(sock, server_side=True)
                with self._lock:  # wrapping detached `sock`: stop() must shut `conn` instead
                    self._sockets.discard(sock)
                    self._sockets.add(conn)
                    if self._stopping.is_set():
                        return
            reader = _Reader(conn)
            while not self._stopping.is_set():
                request = reader.request(number)
                if request is None:
                    return
                behaviour = self._record(request)
                served = self._act(conn, reader, request.received, behaviour)
                with self._lock:
                    self._served.append(served)
                    self._changed.notify_all()
                keep = not served.hung_up and isinstance(behaviour, Reply | Trickle | Huge)
                if not keep or request.headers_lower.get("connection") == "close":
                    return
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._sockets.discard(sock)
                self._sockets.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _record(self, request: "_Request") -> Behaviour:
        with self._lock:
            self._requests.append(request.received)
            self._changed.notify_all()
            for key in (request.received.path, None):
                queue = self._queues.get(key)
                if queue:
                    return queue.popleft()
            return self._defaults.get(request.received.path, self._defaults[None])

    def _act(
        self, conn: socket.socket, reader: "_Reader", request: Received, behaviour: Behaviour
    ) -> Served:
        """Carry out one behaviour on the connection `request` came on."""
        written = 0
        hung_up = False

        def send(data: bytes) -> None:
            nonlocal written
            view = memoryview(data)
            while view:
                sent = conn.send(view)
                written += sent
                view = view[sent:]

        try:
            match behaviour:
                case Reply():
                    send(_response(behaviour))
                case Reset():
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                case Hang():
                    hung_up = self._hang_up_within(conn, reader, None)
                case Trickle():
                    for byte in _response(behaviour.reply):
                        send(bytes([byte]))
                        hung_up = self._hang_up_within(conn, reader, behaviour.delay)
                        if hung_up or self._stopping.is_set():
                            break
                case Huge():
                    send(_head(behaviour.status, {}, behaviour.size))
                    chunk = b"x" * _CHUNK
                    left = behaviour.size
                    while left > 0 and not self._stopping.is_set():
                        send(chunk[:left])
                        left -= min(left, _CHUNK)
                case Malformed():
                    send(behaviour.data)
                case _:
                    raise TypeError(f"not a behaviour: {behaviour!r}")
        except OSError:  # a send the client's reset or close refused
            hung_up = not self._stopping.is_set()
        return Served(request, written, hung_up)

    def _hang_up_within(
        self, conn: socket.socket, reader: "_Reader", seconds: float | None
    ) -> bool:
        """Wait `seconds` (None: until the endpoint stops) for the client to close the
        connection; whether it did. What it sends meanwhile is kept for the next request."""
        until = None if seconds is None else time.monotonic() + seconds
        while not self._stopping.is_set():
            left = None if until is None else until - time.monotonic()
            if left is not None and left <= 0:
                return False
            readable, _, _ = select.select([conn], [], [], left)
            if self._stopping.is_set():  # stop() shut the socket: that is no hang-up
                return False
            if readable:
                try:
                    if not reader.fill():
                        return True
                except OSError:  # reset by the client
                    return not self._stopping.is_set()
        return False


@dataclass(frozen=True)
class _Request:
    received: Received
    headers_lower: dict[str, str]


class _Reader:
    """Reads HTTP/1.1 requests with Content-Length bodies, one after another on one connection."""

    def __init__(self, conn: socket.socket):
        self._conn = conn
        self._buffer = b""

    def fill(self) -> bool:
        """Read what the client sent next; False once it closed the connection."""
        data = self._conn.recv(_CHUNK)
        self._buffer += data
        return bool(data)

    def request(self, number: int) -> _Request | None:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) >= 8 and not _REQUEST_LINE.match(self._buffer):
                return None  # not HTTP, say a TLS hello: hang up so the client fails at once
            if not self.fill():
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = dict(line.split(":", 1) for line in header_lines)
        headers = {name: value.strip() for name, value in headers.items()}
        lower = {name.lower(): value for name, value in headers.items()}
        length = int(lower.get("content-length", "0"))
        while len(self._buffer) < length:
            if not self.fill():
                return None
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        path = target.split("?", 1)[0]
        received = Received(method, path, headers, body, time.monotonic(), number)
        return _Request(received, lower)


def _head(status: int, headers: Mapping[str, str], length: int) -> bytes:
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers.items())]
    lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _response(reply: Reply) -> bytes:
    return _head(reply.status, reply.headers, len(reply.body)) + reply.body


@pytest.fixture(name="endpoint")  # the name holds under `import endpoint as endpoint_fixture`
def endpoint() -> Iterator[Endpoint]:
    """A running endpoint answering 200 until told otherwise; stopped after the test."""
    with Endpoint() as server:
        yield server
