"""One HTTP delivery attempt, under a total deadline, to an address that was checked.

Every fault of the network or the endpoint comes back as an `Attempt` with an error kind: the
delivery actor records it and schedules a retry, it never has to catch anything.

Three things urllib3 does not do by itself are done here:
- the deadline is total (resolution, the wait for a free connection, connect, send, the whole
  response): urllib3's timeouts are per socket operation, so an endpoint trickling one byte at a
  time would hold an attempt for ever. `connections.Deadline` shuts the attempt's socket
  when it passes, which wakes whatever read or write is blocked on it;
- the host is resolved and checked by `resolve_checked`, then the checked address is what is
  connected to (TLS still verified against the host name), so DNS rebinding cannot slip past;
- at most `max_connections_per_host` attempts run at once per address and port connected to
  (`connections.HostSlots`), so endpoints that hang until their timeout hold up only their own
  machine, however many names lead to it. That is the one place the cap is held: urllib3's pools
  never block (`block=False`), they only keep up to that many idle connections for reuse.
"""

import datetime
import email.utils
import re
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.client import HTTPException, IncompleteRead
from typing import Literal

import msgspec
from urllib3 import HTTPConnectionPool, HTTPResponse, Timeout
from urllib3.exceptions import NewConnectionError
from urllib3.exceptions import SSLError as Urllib3SSLError
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util import SKIP_HEADER

from signin_webhooks.actors.addresses import (
    BlockedAddress,
    ResolutionFailed,
    Resolver,
    parse_ip_literal,
    resolve_checked,
)
from signin_webhooks.actors.addresses import system_resolver as system_resolver
from signin_webhooks.actors.connections import (
    Deadline,
    HostSlots,
    HTTPPool,
    HTTPSPool,
    watching,
)
from signin_webhooks.eventstore.endpoints import Endpoint, cached_endpoint

ErrorKind = Literal[
    "http_status",
    "redirect",
    "timeout",
    "connection_refused",
    "connection_reset",
    "dns",
    "tls",
    "blocked_address",
    "protocol",
]

RESPONSE_BODY_LIMIT = 64 * 1024
_DISCARD_LIMIT = 1024 * 1024  # past this, dropping the connection is cheaper than reading on
_READ_SIZE = 16 * 1024
_MAX_POOLS = 256
_RESOLVER_THREADS = 8
_DELTA_SECONDS = re.compile(r"[0-9]+")


class Attempt(msgspec.Struct, frozen=True):
    """What one POST came to, as the delivery history shows it."""

    status: int | None
    response_headers: dict[str, str]
    response_body: bytes  # the first 64 KiB
    duration: float  # seconds
    error_kind: ErrorKind | None  # None when the endpoint answered 2xx
    error: str | None  # one line for a person
    retry_after: float | None = None  # seconds, from Retry-After on a 429 or 503

    @property
    def succeeded(self) -> bool:
        return self.error_kind is None and self.status is not None and 200 <= self.status < 300


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if unreadable."""
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, said without vouching for the source's zone
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, when.timestamp() - now)


class _Fault(Exception):
    """An attempt that ended before any response: the kind and a line for a person."""

    def __init__(self, kind: ErrorKind, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class _Response:
    status: int | None
    headers: dict[str, str]
    body: bytes
    retry_after: float | None
    error_kind: ErrorKind | None
    error: str | None
    reason: str = ""


class Transport:
    """Posts to endpoints over keep-alive pools shared by every delivery."""

    def __init__(
        self,
        *,
        resolver: Resolver = system_resolver,
        allow_private: bool | Callable[[], bool] = False,
        max_connections_per_host: int = 4,
        clock: Callable[[], float] = time.monotonic,
        ssl_context: ssl.SSLContext | None = None,
    ):
        """`clock` times attempts for the record; the deadline itself always runs on real time."""
        self._resolver = resolver
        self._allow_private = allow_private
        self._cap = max_connections_per_host
        self._clock = clock
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._slots = HostSlots(max_connections_per_host)
        self._lock = threading.Lock()
        self._pools: OrderedDict[tuple[str, str, int, str], HTTPConnectionPool] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str],
        timeout: float,
        since: float | None = None,
    ) -> Attempt:
        """POST `body` with exactly `headers` (plus Host and Content-Length) within `timeout` s
        from now, or from `since` (monotonic time) for an attempt that waited for its turn.

        Raises only InvalidInput, for a URL that is not http(s) (a saved subscription never has
        one), and Abandoned once `stop_waiting` was called, for an attempt that sent nothing.
        """
        target = cached_endpoint(url)
        waited = 0.0 if since is None else max(0.0, time.monotonic() - since)
        started = self._clock() - waited
        deadline = Deadline(timeout, since)
        try:
            got = self._attempt(target, body, headers, deadline)
        except _Fault as fault:
            got = _Response(None, {}, b"", None, fault.kind, str(fault))
        finally:
            deadline.end()
        kind, error = got.error_kind, got.error
        if kind is None and got.status is not None and 300 <= got.status < 400:
            location = got.headers.get("Location")
            to = f"a redirect to {location}" if location else "a redirect without a Location"
            kind, error = "redirect", f"HTTP {got.status} {got.reason}: {to}, not followed"
        elif kind is None and got.status is not None and not 200 <= got.status < 300:
            kind, error = "http_status", f"HTTP {got.status} {got.reason}"
        return Attempt(
            status=got.status,
            response_headers=got.headers,
            response_body=got.body,
            duration=self._clock() - started,
            error_kind=kind,
            error=None if error is None else _one_line(error),
            retry_after=got.retry_after,
        )

    def stop_waiting(self) -> None:
        """From now on, attempts waiting for a connection raise Abandoned instead of starting."""
        self._slots.abandon()

    def close(self) -> None:
        """Close every pooled connection; the transport stays usable and reconnects on demand."""
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
            executor, self._executor = self._executor, None
        for pool in pools:
            pool.close()
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _attempt(
        self, target: Endpoint, body: bytes, headers: dict[str, str], deadline: Deadline
    ) -> _Response:
        if deadline.passed:  # it waited its whole timeout for its turn at the endpoint
            raise _Fault(
                "timeout",
                f"no free connection to {target.host} port {target.port} within "
                f"{deadline.seconds:g} s: {self._cap} already in use",
            )
        addresses = self._resolve(target, deadline)
        for address in addresses:
            with self._slots.hold((address, target.port), deadline.remaining()) as got:
                if not got:
                    raise _Fault(
                        "timeout",
                        f"no free connection to {address} port {target.port} within "
                        f"{deadline.seconds:g} s: {self._cap} already in use",
                    )
                pool = self._pool(target, address)
                try:
                    response = self._send(pool, target, body, headers, deadline)
                except _Fault as fault:
                    # Nothing was sent yet: another address of the host may take the connection
                    # (an IPv6 answer on a network without IPv6, say).
                    if fault.kind != "connection_refused" or address == addresses[-1]:
                        raise
                    continue
                return self._receive(response, target, deadline)
        raise AssertionError("resolve_checked returns at least one address")

    def _resolve(self, target: Endpoint, deadline: Deadline) -> list[str]:
        allow = self._allow_private() if callable(self._allow_private) else self._allow_private
        if parse_ip_literal(target.host) is not None:  # nothing to look up: checked here and now
            try:
                return resolve_checked(
                    target.host, target.port, resolver=self._resolver, allow_private=allow
                )
            except BlockedAddress as e:
                raise _Fault("blocked_address", str(e)) from e
        future = self._resolver_pool().submit(
            resolve_checked, target.host, target.port, resolver=self._resolver, allow_private=allow
        )
        try:
            return future.result(timeout=deadline.remaining())
        except TimeoutError:
            future.cancel()
            raise _Fault(
                "timeout", f"resolving {target.host} took longer than {deadline.seconds:g} s"
            ) from None
        except BlockedAddress as e:
            raise _Fault("blocked_address", str(e)) from e
        except ResolutionFailed as e:
            raise _Fault("dns", str(e)) from e
        except Exception as e:  # a replaced resolver may fail in its own way
            raise _Fault("dns", f"cannot resolve host {target.host!r}: {e!r}") from e

    def _send(
        self,
        pool: HTTPConnectionPool,
        target: Endpoint,
        body: bytes,
        headers: dict[str, str],
        deadline: Deadline,
    ) -> HTTPResponse:
        sent: dict[str, str] = {"Host": target.host_header}
        sent.update(
            (k, v) for k, v in headers.items() if k.lower() not in {"host", "content-length"}
        )
        given = {k.lower() for k in sent}
        for name in ("User-Agent", "Accept-Encoding"):  # urllib3 and http.client would add them
            if name.lower() not in given:
                sent[name] = SKIP_HEADER
        remaining = deadline.remaining()
        with watching(deadline):
            try:
                return pool.urlopen(  # type: ignore[return-value]  # a pool's are HTTPResponses
                    "POST",
                    target.path,
                    body=body,
                    headers=sent,
                    retries=False,
                    redirect=False,
                    assert_same_host=False,
                    timeout=Timeout(connect=remaining, read=remaining),
                    preload_content=False,
                    decode_content=False,
                    release_conn=False,
                )
            except Exception as e:
                raise _Fault(*_classify(e, target, deadline)) from e

    def _receive(self, response: HTTPResponse, target: Endpoint, deadline: Deadline) -> _Response:
        kept = bytearray()
        consumed = False
        error: tuple[ErrorKind, str] | tuple[None, None] = (None, None)
        try:
            while len(kept) < RESPONSE_BODY_LIMIT and not deadline.passed:
                chunk = response.read(min(_READ_SIZE, RESPONSE_BODY_LIMIT - len(kept)))
                if not chunk:
                    consumed = True
                    break
                kept += chunk
            if deadline.passed:
                error = ("timeout", _late(target, deadline))
            elif not consumed:
                consumed = _discard(response, deadline)
        except Exception as e:
            error = _classify(e, target, deadline)
        finally:
            if deadline.end() or not consumed or error[0] is not None:
                response.close()  # the connection is in an unknown state: never reuse it
            response.release_conn()  # a closed connection still frees its place in the pool
        retry_after = None
        if response.status in (429, 503) and "retry-after" in response.headers:
            retry_after = parse_retry_after(response.headers["retry-after"], time.time())
        error_kind, message = error
        return _Response(
            response.status,
            dict(response.headers.itermerged()),
            bytes(kept),
            retry_after,
            error_kind,
            message,
            reason=response.reason or "",
        )

    def _pool(self, target: Endpoint, address: str) -> HTTPConnectionPool:
        """The keep-alive pool for a host name at one of its addresses. It never blocks: the
        attempt holds its place in `HostSlots` already, the one cap on connections at once."""
        key = (target.scheme, target.host, target.port, address)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            if target.scheme == "https":
                pool = HTTPSPool(
                    address,
                    target.port,
                    server_hostname=target.host,
                    ssl_context=self._ssl_context,
                    maxsize=self._cap,
                    block=False,
                    retries=False,
                )
            else:
                pool = HTTPPool(address, target.port, maxsize=self._cap, block=False, retries=False)
            self._pools[key] = pool
            evicted = self._pools.popitem(last=False)[1] if len(self._pools) > _MAX_POOLS else None
        if evicted is not None:
            evicted.close()  # connections still in use are closed when they come back
        return pool

    def _resolver_pool(self) -> ThreadPoolExecutor:
        # Name resolution has no timeout of its own: it runs here, and the attempt waits for it
        # only as long as its deadline allows.
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    _RESOLVER_THREADS, thread_name_prefix="signin-webhooks-resolver"
                )
            return self._executor


def _discard(response: HTTPResponse, deadline: Deadline) -> bool:
    """Read the rest of a response to keep its connection; whether it was all read in time."""
    discarded = 0
    try:
        while discarded <= _DISCARD_LIMIT and not deadline.passed:
            chunk = response.read(_READ_SIZE)
            if not chunk:
                return True
            discarded += len(chunk)
    except Exception:
        return False  # the outcome is already decided; only the connection is lost
    return False


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and everything it wraps (urllib3 wraps as cause, context and argument)."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        e = pending.pop(0)
        if id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        pending.extend(a for a in e.args if isinstance(a, BaseException))
        pending.extend(c for c in (e.__cause__, e.__context__) if c is not None)


_KINDS: tuple[tuple[ErrorKind, tuple[type[BaseException], ...]], ...] = (
    ("connection_refused", (ConnectionRefusedError,)),
    ("tls", (ssl.SSLError, ssl.CertificateError, Urllib3SSLError)),
    ("connection_reset", (ConnectionError, IncompleteRead)),  # RemoteDisconnected is a reset
    ("timeout", (TimeoutError,)),
    ("protocol", (HTTPException,)),
    # Connecting failed otherwise (unreachable and the like). urllib3's NewConnectionError
    # subclasses its own TimeoutError, so it must be judged before that one.
    ("connection_refused", (NewConnectionError,)),
    ("timeout", (Urllib3TimeoutError,)),
)


def _classify(error: BaseException, target: Endpoint, deadline: Deadline) -> tuple[ErrorKind, str]:
    """The error kind of a failed attempt, and a line naming the error that decided it."""
    if deadline.passed:
        return "timeout", _late(target, deadline)
    causes = list(_causes(error))
    for kind, types in _KINDS:
        for e in causes:
            if isinstance(e, types):
                return kind, f"{target.host}:{target.port}: {type(e).__name__}: {e}"
    return "protocol", f"{target.host}:{target.port}: {type(error).__name__}: {error}"


def _late(target: Endpoint, deadline: Deadline) -> str:
    return f"no complete response from {target.host} within {deadline.seconds:g} s"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 500 else line[:497] + "..."
