"""docs/consuming.md: its Python is the example file's, and that example accepts what a running
system really sends, and refuses what it must."""

from __future__ import annotations

import importlib.util
import queue
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.signing import sign
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.endpoint import Received
from tests.endpoint import endpoint as endpoint_fixture  # noqa: F401  (the `endpoint` fixture)
from tests.helpers import ROOT, event, facts, wait_until

DOCS = ROOT / "docs"
EXAMPLE = DOCS / "examples" / "verify_signature.py"


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_signature", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def system(tmp_path: Path) -> Iterator[WebhookSystem]:
    """On the real clock: the example checks timestamps against the time now."""
    with WebhookSystem(tmp_path / "hooks.db", allow_private_networks=True) as running:
        yield running


def captured(system: WebhookSystem, endpoint, **fields: Any) -> tuple[Received, str]:
    """One real delivery of two events, as the endpoint received it, and the secret."""
    saved = system.subscriptions.create(
        name="consumer", url=endpoint.url_for("/hook"), context="ctx_lobby", max_events=2, **fields
    )
    system.publish([event("ev_1", guest={"email": "ada@example.com"}), event("ev_2")])
    (request,) = endpoint.wait_for(1)
    assert saved.secret is not None
    return request, saved.secret


def test_every_python_block_of_the_page_is_in_the_example_file():
    page = (DOCS / "consuming.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) >= 2
    source = EXAMPLE.read_text()
    for block in blocks:
        assert block in source


def test_the_example_verifies_a_real_delivery_and_refuses_it_altered(example, system, endpoint):
    request, secret = captured(system, endpoint)
    headers, body = request.headers, request.body

    assert example.verify(secret, headers, body)
    assert not example.verify(secret, headers, body.replace(b"ev_1", b"ev_9"))
    assert not example.verify(secret, headers, body + b" ")
    other = system.subscriptions.create(name="other", url=endpoint.url, context="x").secret
    assert not example.verify(other, headers, body)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        assert not example.verify(secret, {k: v for k, v in headers.items() if k != name}, body)
    changed_id = {**headers, "webhook-id": headers["webhook-id"] + "x"}
    assert not example.verify(secret, changed_id, body)


def test_the_example_refuses_a_delivery_signed_too_long_ago_or_ahead(example, system, endpoint):
    request, secret = captured(system, endpoint)
    signed_at = int(request.headers["webhook-timestamp"])

    assert example.verify(secret, request.headers, request.body, now=signed_at + 299)
    assert not example.verify(secret, request.headers, request.body, now=signed_at + 301)
    assert not example.verify(secret, request.headers, request.body, now=signed_at - 301)


def test_the_example_accepts_either_secret_during_a_rotation(example, system, endpoint):
    saved = system.subscriptions.create(
        name="rotating", url=endpoint.url_for("/hook"), context="ctx_lobby", max_events=1
    )
    old = saved.secret
    new = system.subscriptions.rotate_secret(saved.subscription.id).secret
    system.publish(event("ev_rotated"))
    (request,) = endpoint.wait_for(1)

    assert example.verify(old, request.headers, request.body)
    assert example.verify(new, request.headers, request.body)


def test_the_example_receiver_takes_each_event_once_and_refuses_forgeries(
    example, system, endpoint
):
    request, secret = captured(system, endpoint, content_type="application/x-ndjson")
    work: queue.Queue[dict] = queue.Queue()
    server = ThreadingHTTPServer(("127.0.0.1", 0), example.make_handler(secret, work))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        headers, body = request.headers, request.body
        assert post(server, body.replace(b"ev_1", b"ev_9"), headers) == 401
        assert work.empty()
        assert post(server, body, headers) == 204
        assert [work.get_nowait()["id"] for _ in range(2)] == ["ev_1", "ev_2"]

        # The same delivery again, as after a crash before its answer was recorded.
        assert post(server, body, headers) == 204
        # The same events in a new delivery, as an operator's recover sends them.
        now = int(time.time())
        again = {
            **headers,
            "webhook-id": "dlv_recovered",
            "webhook-timestamp": str(now),
            "webhook-signature": sign([secret], "dlv_recovered", now, body),
        }
        assert post(server, body, again) == 204
        assert work.empty()

        # And the running system, pointed at the receiver, sees its deliveries succeed.
        sub_id = system.subscriptions.list()[0].id
        system.subscriptions.update(sub_id, url=f"http://127.0.0.1:{server.server_port}/hook")
        system.publish([event("ev_3"), event("ev_4")])
        assert [work.get(timeout=5)["id"] for _ in range(2)] == ["ev_3", "ev_4"]
        assert wait_for_success(system, sub_id).status == 204
    finally:
        server.shutdown()
        server.server_close()


def wait_for_success(system: WebhookSystem, sub_id: str) -> AttemptRecorded:
    return wait_until(
        lambda: next((a for a in facts(system, AttemptRecorded, sub_id) if a.status == 204), None),
        "a successful attempt",
    )


def post(server: ThreadingHTTPServer, body: bytes, headers: dict[str, str]) -> int:
    sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "content-length")}
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_port}/hook", data=body, headers=sent, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
