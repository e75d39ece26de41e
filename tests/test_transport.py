"""One delivery attempt against a real endpoint on 127.0.0.1, misbehaving in every way we handle."""

import email.utils
import shutil
import ssl
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from signin_webhooks.actors.connections import Abandoned
from signin_webhooks.actors.transport import Attempt, Transport, parse_retry_after
from signin_webhooks.eventstore.errors import InvalidInput
from tests.endpoint import (
    Endpoint,
    Hang,
    Huge,
    Malformed,
    Reply,
    Reset,
    Trickle,
    closed_port_url,
)
from tests.endpoint import endpoint as endpoint_fixture  # noqa: F401  (the `endpoint` fixture)

JSON = {"Content-Type": "application/json"}


def loopback(host: str, port: int) -> list[str]:
    """DNS for tests: every name is this machine."""
    return ["127.0.0.1"]


@pytest.fixture
def transport() -> Iterator[Transport]:
    with Transport(resolver=loopback, allow_private=True) as t:
        yield t


def post(transport: Transport, url: str, timeout: float = 2.0, body: bytes = b"[]") -> Attempt:
    return transport.post(url, body, dict(JSON), timeout)


def timed(transport: Transport, url: str, timeout: float) -> tuple[Attempt, float]:
    started = time.monotonic()
    attempt = post(transport, url, timeout)
    return attempt, time.monotonic() - started


def test_2xx_is_success_with_status_headers_and_body_recorded(endpoint, transport):
    endpoint.respond(Reply(202, {"X-Request-Id": "r1"}, b'{"ok":true}'))
    attempt = post(transport, endpoint.url_for("/hook?x=1"), body=b'[{"id":"e1"}]')
    assert attempt.succeeded
    assert (attempt.status, attempt.error_kind, attempt.error) == (202, None, None)
    assert attempt.response_headers["X-Request-Id"] == "r1"
    assert attempt.response_body == b'{"ok":true}'
    [received] = endpoint.requests
    assert (received.method, received.path, received.body) == ("POST", "/hook", b'[{"id":"e1"}]')


def test_headers_are_sent_exactly_as_given_plus_host_and_content_length(endpoint, transport):
    headers = {"Content-Type": "application/json", "webhook-id": "d1", "X-Custom": "v"}
    headers["User-Agent"] = "signin-webhooks/0.1.0"
    transport.post(endpoint.url_for(), b"[1]", headers, 2.0)
    [received] = endpoint.requests
    expected = {**headers, "Host": f"127.0.0.1:{endpoint.port}", "Content-Length": "3"}
    assert received.headers == expected


def test_no_header_is_added_when_none_is_given(endpoint, transport):
    transport.post(endpoint.url_for(), b"", {}, 2.0)
    assert endpoint.requests[0].headers == {
        "Host": f"127.0.0.1:{endpoint.port}",
        "Content-Length": "0",
    }


def test_duration_is_measured_on_the_injected_clock(endpoint):
    ticks = iter([100.0, 102.5])
    with Transport(resolver=loopback, allow_private=True, clock=lambda: next(ticks)) as t:
        assert post(t, endpoint.url_for()).duration == 2.5


def test_connections_are_kept_alive_across_attempts(endpoint, transport):
    for _ in range(3):
        assert post(transport, endpoint.url_for()).succeeded
    assert endpoint.connections == 1


def test_response_body_over_64_kib_is_cut_to_64_kib(endpoint, transport):
    endpoint.respond(Reply(200, body=bytes(range(256)) * 1024))  # 256 KiB
    attempt = post(transport, endpoint.url_for())
    assert attempt.succeeded
    assert attempt.response_body == (bytes(range(256)) * 1024)[: 64 * 1024]
    assert post(transport, endpoint.url_for()).succeeded
    assert endpoint.connections == 1  # the rest was read and discarded, the connection kept


def test_a_100_mb_response_is_neither_held_in_memory_nor_read_to_its_end(endpoint, transport):
    size = 100 * 1024 * 1024
    endpoint.respond(Huge(size))
    tracemalloc.start()
    try:
        attempt = post(transport, endpoint.url_for(), timeout=5.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert attempt.succeeded and len(attempt.response_body) == 64 * 1024
    assert peak < 8 * 1024 * 1024
    # The client hung up after a little: what the endpoint got out is what the client read
    # (64 KiB kept, up to a MiB discarded) and what the sockets' buffers took, not the 100 MB.
    [served] = endpoint.wait_served(1)
    assert served.hung_up
    assert served.written < size // 4
    assert post(transport, endpoint.url_for()).succeeded  # on a new connection
    assert endpoint.connections == 2


def test_5xx_is_an_http_status_failure_with_its_body(endpoint, transport):
    endpoint.respond(Reply(500, body=b"database down"))
    attempt = post(transport, endpoint.url_for())
    assert not attempt.succeeded
    assert (attempt.status, attempt.error_kind) == (500, "http_status")
    assert attempt.response_body == b"database down"
    assert attempt.error is not None and "500" in attempt.error
    assert attempt.retry_after is None


def test_a_redirect_is_a_failure_and_never_followed(endpoint, transport):
    endpoint.respond(Reply(302, {"Location": endpoint.url_for("/elsewhere")}), path="/hook")
    attempt = post(transport, endpoint.url_for("/hook"))
    assert (attempt.status, attempt.error_kind) == (302, "redirect")
    assert attempt.response_headers["Location"] == endpoint.url_for("/elsewhere")
    assert [r.path for r in endpoint.requests] == ["/hook"]
    elsewhere = endpoint.url_for("/elsewhere")
    assert attempt.error == f"HTTP 302 Found: a redirect to {elsewhere}, not followed"


def test_a_redirect_without_a_location_says_so(endpoint, transport):
    endpoint.respond(Reply(302), path="/hook")
    attempt = post(transport, endpoint.url_for("/hook"))
    assert attempt.error == "HTTP 302 Found: a redirect without a Location, not followed"


def test_410_gone_is_reported_with_its_status(endpoint, transport):
    endpoint.respond(Reply(410))
    attempt = post(transport, endpoint.url_for())
    assert (attempt.status, attempt.error_kind) == (410, "http_status")


def test_429_retry_after_in_seconds_is_parsed(endpoint, transport):
    endpoint.respond(Reply(429, {"Retry-After": "120"}))
    attempt = post(transport, endpoint.url_for())
    assert (attempt.status, attempt.error_kind, attempt.retry_after) == (429, "http_status", 120.0)


def test_503_retry_after_as_an_http_date_is_parsed(endpoint, transport):
    endpoint.respond(
        Reply(503, {"Retry-After": email.utils.formatdate(time.time() + 90, usegmt=True)})
    )
    attempt = post(transport, endpoint.url_for())
    assert attempt.status == 503
    assert attempt.retry_after is not None and 85 <= attempt.retry_after <= 90


def test_retry_after_counts_only_on_429_and_503(endpoint, transport):
    endpoint.respond(Reply(500, {"Retry-After": "120"}))
    assert post(transport, endpoint.url_for()).retry_after is None


def test_retry_after_parsing():
    now = 1_700_000_000.0
    assert parse_retry_after(" 30 ", now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now + 60, usegmt=True), now) == 60.0
    assert parse_retry_after(email.utils.formatdate(now - 60, usegmt=True), now) == 0.0
    assert parse_retry_after("Tue, 14 Nov 2023 22:14:20 -0000", now) == 60.0  # -0000 is UTC
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None


def test_a_port_nothing_listens_on_is_connection_refused(transport):
    attempt = post(transport, closed_port_url())
    assert (attempt.status, attempt.error_kind) == (None, "connection_refused")
    assert attempt.error is not None and "\n" not in attempt.error


def test_a_reset_connection_is_connection_reset(endpoint, transport):
    endpoint.respond(Reset())
    assert post(transport, endpoint.url_for()).error_kind == "connection_reset"


def test_an_endpoint_that_hangs_is_hung_up_on_once_the_deadline_passes(endpoint, transport):
    endpoint.set_default(Hang())
    attempt, took = timed(transport, endpoint.url_for(), timeout=0.5)
    assert (attempt.status, attempt.error_kind) == (None, "timeout")
    assert attempt.error == "no complete response from 127.0.0.1 within 0.5 s"
    assert took >= 0.5 and attempt.duration >= 0.5  # not before the deadline
    # It was the client that gave up, the endpoint hung on: nothing else ends a Hang.
    [served] = endpoint.wait_served(1)
    assert served.hung_up and served.written == 0


def test_the_deadline_holds_against_an_endpoint_that_trickles(endpoint, transport):
    # One byte each 0.2 s: every read gets a byte well within its socket timeout, and the whole
    # response would take half a minute.
    endpoint.set_default(Trickle(Reply(200, body=b"x" * 100), delay=0.2))
    attempt, took = timed(transport, endpoint.url_for(), timeout=1.0)
    assert (attempt.status, attempt.error_kind) == (None, "timeout")
    assert took >= 1.0
    [served] = endpoint.wait_served(1)
    assert served.hung_up  # before the trickle was through


def test_the_deadline_holds_while_reading_a_slow_body(endpoint, transport):
    # The status line and headers arrive in time (about 0.4 s), the body would take 10 s more.
    endpoint.set_default(Trickle(Reply(200, body=b"x" * 1000), delay=0.01))
    attempt, took = timed(transport, endpoint.url_for(), timeout=1.0)
    assert (attempt.status, attempt.error_kind) == (200, "timeout")
    assert took >= 1.0
    [served] = endpoint.wait_served(1)
    assert served.hung_up  # before the body was through


def test_a_malformed_response_is_a_protocol_error(endpoint, transport):
    endpoint.respond(Malformed())
    attempt = post(transport, endpoint.url_for())
    assert (attempt.status, attempt.error_kind) == (None, "protocol")


def test_https_to_an_endpoint_that_does_not_speak_tls_is_a_tls_error(endpoint, transport):
    url = endpoint.url_for().replace("http://", "https://")
    assert post(transport, url).error_kind == "tls"


def test_a_private_address_is_blocked_before_any_connection(endpoint):
    with Transport(resolver=loopback, allow_private=False) as t:
        attempt = post(t, endpoint.url_for(host="hooks.example"))
        assert (attempt.status, attempt.error_kind) == (None, "blocked_address")
        assert attempt.error is not None and "127.0.0.1" in attempt.error
        assert post(t, endpoint.url_for(host="0x7f.1")).error_kind == "blocked_address"
    assert endpoint.connections == 0


def test_allow_private_is_read_at_each_attempt(endpoint):
    allowed = False
    with Transport(resolver=loopback, allow_private=lambda: allowed) as t:
        assert post(t, endpoint.url_for()).error_kind == "blocked_address"
        allowed = True
        assert post(t, endpoint.url_for()).succeeded


def test_the_address_connected_to_is_the_address_checked(endpoint):
    # The first answer is where the endpoint listens, later ones are not: the attempt connects
    # to what this attempt's check returned, and never asks DNS again to connect.
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    with Transport(resolver=rebinding, allow_private=True) as t:
        first = post(t, endpoint.url_for(host="hooks.example"))
        assert first.succeeded and calls == ["hooks.example"]
        assert endpoint.requests[0].headers["Host"] == f"hooks.example:{endpoint.port}"
        second = post(t, endpoint.url_for(host="hooks.example"))
        assert second.error_kind == "connection_refused"  # 127.0.0.2: nothing listens there
        assert len(calls) == 2 and len(endpoint.requests) == 1


def test_when_an_address_refuses_the_next_one_the_host_resolves_to_is_tried(endpoint):
    with Transport(resolver=lambda h, p: ["127.0.0.2", "127.0.0.1"], allow_private=True) as t:
        assert post(t, endpoint.url_for(host="hooks.example")).succeeded
    assert len(endpoint.requests) == 1


def test_resolution_that_outlasts_the_deadline_times_out(endpoint):
    asked, answered, release = threading.Event(), threading.Event(), threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        asked.set()
        release.wait(60)
        answered.set()
        return ["127.0.0.1"]

    try:
        with Transport(resolver=stuck, allow_private=True) as t:
            attempt, took = timed(t, endpoint.url_for(host="slow.example"), timeout=0.3)
            # The attempt came back while the resolver was still stuck: it did not wait for it.
            assert asked.is_set() and not answered.is_set()
    finally:
        release.set()
    assert attempt.error_kind == "timeout"
    assert attempt.error == "resolving slow.example took longer than 0.3 s"
    assert took >= 0.3
    assert endpoint.connections == 0


@pytest.mark.parametrize(
    "answer", [OSError("Name or service not known"), [], ["not-an-ip"], RuntimeError("bug")]
)
def test_a_name_that_does_not_resolve_is_a_dns_failure(answer):
    def resolver(host: str, port: int) -> list[str]:
        if isinstance(answer, Exception):
            raise answer
        return answer

    with Transport(resolver=resolver, allow_private=True) as t:
        attempt = post(t, "http://nowhere.example/hook")
    assert (attempt.status, attempt.error_kind) == (None, "dns")
    assert attempt.error is not None and "nowhere.example" in attempt.error


def test_connections_per_address_are_capped_under_any_name_and_other_ports_proceed(endpoint):
    endpoint.set_default(Hang())
    endpoint.set_default(Reply(200), path="/ok")
    with (
        Endpoint() as other,
        Transport(resolver=loopback, allow_private=True, max_connections_per_host=2) as t,
        ThreadPoolExecutor(2) as pool,
    ):
        hanging = [pool.submit(post, t, endpoint.url_for(host="a.example"), 60.0) for _ in range(2)]
        endpoint.wait_for(2)
        third, took = timed(t, endpoint.url_for("/ok", host="a.example"), timeout=0.3)
        assert third.error_kind == "timeout" and took >= 0.3
        assert third.error is not None and "no free connection" in third.error
        # Same address and port under another name: the same machine, at its cap too.
        elsewhere = post(t, endpoint.url_for("/ok", host="b.example"), 0.3)
        assert elsewhere.error_kind == "timeout"
        assert elsewhere.error is not None and "no free connection" in elsewhere.error
        assert len(endpoint.requests) == 2  # neither got a connection
        # Both gave up at their own deadline: the two holding the connections hold them still.
        assert not any(f.done() for f in hanging)
        assert post(t, other.url_for(host="a.example"), 1.0).succeeded  # another port
        endpoint.stop()  # release the hanging two rather than wait out their deadline
        assert all(not f.result(timeout=60).succeeded for f in hanging)


def test_attempts_waiting_for_a_connection_are_abandoned_when_the_system_stops(endpoint):
    endpoint.set_default(Hang())
    with (
        Transport(resolver=loopback, allow_private=True, max_connections_per_host=1) as t,
        ThreadPoolExecutor(2) as pool,
    ):
        hanging = pool.submit(post, t, endpoint.url_for(host="a.example"), 60.0)
        endpoint.wait_for(1)
        waiting = pool.submit(post, t, endpoint.url_for(host="b.example"), 5.0)
        t.stop_waiting()
        with pytest.raises(Abandoned):  # rather than an Attempt that timed out waiting
            waiting.result(timeout=60)
        assert not hanging.done()  # no connection came free meanwhile
        endpoint.stop()
        assert not hanging.result(timeout=60).succeeded
    assert len(endpoint.requests) == 1


def test_attempts_leave_no_threads_behind(endpoint):
    before = threading.active_count()
    with Transport(resolver=loopback, allow_private=True) as t:
        for _ in range(5):
            assert post(t, endpoint.url_for()).succeeded
    for thread in threading.enumerate():
        if thread.name.startswith("signin-webhooks-"):
            thread.join(timeout=1)
    assert threading.active_count() <= before + 1  # the endpoint's connection handler


def test_close_drops_pooled_connections_and_the_transport_reconnects(endpoint, transport):
    assert post(transport, endpoint.url_for()).succeeded
    transport.close()
    assert post(transport, endpoint.url_for()).succeeded
    assert endpoint.connections == 2


def test_a_url_that_is_not_http_is_refused(transport):
    for url in ("ftp://example.com/x", "http://user:pw@example.com/", "not a url"):
        with pytest.raises(InvalidInput):
            transport.post(url, b"", {}, 1.0)


# --- TLS against a certificate for hooks.example, from a CA made for the test ----------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make test certificates")
    d = tmp_path_factory.mktemp("tls")
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    (d / "ext").write_text("subjectAltName=DNS:hooks.example\nextendedKeyUsage=serverAuth\n")
    ca = ["-subj", "/CN=test CA", "-addext", "basicConstraints=critical,CA:TRUE"]
    signed = ["-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-extfile", "ext"]
    run = [
        ["req", "-x509", *key, *ca, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2"],
        ["req", *key, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=hooks.example"],
        ["x509", "-req", *signed, "-in", "leaf.csr", "-out", "leaf.pem", "-days", "2"],
    ]
    for args in run:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    return d


@pytest.fixture
def tls_endpoint(certificates: Path) -> Iterator[Endpoint]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates / "leaf.pem", certificates / "leaf.key")
    with Endpoint(tls=context) as server:
        yield server


@pytest.fixture
def tls_transport(certificates: Path) -> Iterator[Transport]:
    context = ssl.create_default_context(cafile=certificates / "ca.pem")
    with Transport(resolver=loopback, allow_private=True, ssl_context=context) as t:
        yield t


def test_tls_is_verified_against_the_host_name_not_the_address(tls_endpoint, tls_transport):
    attempt = post(tls_transport, tls_endpoint.url_for(host="hooks.example"))
    assert attempt.succeeded
    assert tls_endpoint.requests[0].headers["Host"] == f"hooks.example:{tls_endpoint.port}"


def test_a_certificate_for_another_host_is_a_tls_error(tls_endpoint, tls_transport):
    attempt = post(tls_transport, tls_endpoint.url_for(host="other.example"))
    assert attempt.error_kind == "tls"
    assert attempt.error is not None and "other.example" in attempt.error
    assert tls_endpoint.requests == []


def test_an_untrusted_certificate_is_a_tls_error(tls_endpoint):
    with Transport(resolver=loopback, allow_private=True) as t:
        assert post(t, tls_endpoint.url_for(host="hooks.example")).error_kind == "tls"
