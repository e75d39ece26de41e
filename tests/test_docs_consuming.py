"""docs/consuming.md: its Python is the example file's, and that example accepts what a running
system really sends, and refuses what it must."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest
from standardwebhooks.webhooks import Webhook

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.signing import sign
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.endpoint import Received
from tests.endpoint import endpoint as endpoint_fixture  # noqa: F401  (the `endpoint` fixture)
from tests.helpers import ROOT, event, facts, wait_until

DOCS = ROOT / "docs"
EXAMPLE = DOCS / "examples" / "verify_signature.py"
LIBRARY_EXAMPLE = DOCS / "examples" / "verify_with_library.py"
NODE_EXAMPLE = DOCS / "examples" / "verify_with_library.js"


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


def load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_python_block_of_the_page_is_in_the_example_file():
    page = (DOCS / "consuming.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) >= 3
    sources = (EXAMPLE.read_text(), LIBRARY_EXAMPLE.read_text())
    for block in blocks:
        assert any(block in source for source in sources), block[:60]
    (js,) = re.findall(r"```js\n(.*?)```", page, flags=re.DOTALL)
    assert js == NODE_EXAMPLE.read_text()


@pytest.mark.parametrize("content_type", ["application/x-ndjson", "application/json"])
def test_the_library_example_verifies_a_real_delivery_of_two_events(system, endpoint, content_type):
    request, secret = captured(system, endpoint, content_type=content_type)
    library = load(LIBRARY_EXAMPLE)
    events = library.verified_events(secret, request.headers, request.body)
    assert [e["id"] for e in events] == ["ev_1", "ev_2"]
    assert library.verified_events(secret, request.headers, request.body + b" ") is None
    if content_type == "application/x-ndjson":  # what the library's default parse does with it
        with pytest.raises(ValueError):
            Webhook(secret).verify(request.body, dict(request.headers))


NODE_CHECK = """
const { verifiedEvents } = require(process.argv[1]);
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const headers = Object.fromEntries(
  Object.entries(input.headers).map(([name, value]) => [name.toLowerCase(), value]));
const body = Buffer.from(input.body, "base64");
const events = verifiedEvents(input.secret, headers, body);
const forged = verifiedEvents(input.secret, headers, Buffer.concat([body, Buffer.from(" ")]));
console.log(JSON.stringify({ ids: events && events.map((e) => e.id), forged }));
"""


NODE_REQUIRED = "SIGNIN_WEBHOOKS_TEST_NODE"  # set by .ci/run, which installs the package


def unavailable(reason: str) -> NoReturn:
    """Skip where Node or the npm package is absent; fail where CI has promised them."""
    if os.environ.get(NODE_REQUIRED):
        pytest.fail(f"{reason}, but {NODE_REQUIRED} is set")
    pytest.skip(reason)


def test_the_node_example_verifies_a_real_ndjson_delivery(system, endpoint):
    node = shutil.which("node")
    if node is None:
        unavailable("node is not installed")
    found = subprocess.run([node, "-e", "require.resolve('standardwebhooks')"],
                           capture_output=True, timeout=30)  # fmt: skip
    if found.returncode != 0:
        unavailable("the standardwebhooks npm package is not installed (NODE_PATH)")
    request, secret = captured(system, endpoint, content_type="application/x-ndjson")
    given = {"secret": secret, "headers": dict(request.headers),
             "body": base64.b64encode(request.body).decode()}  # fmt: skip
    done = subprocess.run(
        [node, "-e", NODE_CHECK, str(NODE_EXAMPLE)], input=json.dumps(given),
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ids": ["ev_1", "ev_2"], "forged": None}


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
    work: queue.Queue[dict[str, Any]] = queue.Queue()
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
