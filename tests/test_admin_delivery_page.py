"""One delivery's page: each attempt with its time, duration, trigger, URL, request headers
(redacted) and the response; what went wrong in words; the exact body sent, pretty-printed,
raw and as a download; another tenant's delivery answers 404."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.admin_browser import signed_in
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Hang, Reply, closed_port_url
from tests.helpers import event, subscribe, wait_until


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _sections(page: str) -> list[str]:
    """Each attempt's part of the page, as a person reads it."""
    found = re.findall(r"<section>(.*?)</section>", page, re.S)
    return [html.unescape(re.sub(r"</?(strong|h3|h4|p|pre)>", "", s)) for s in found]


def test_each_attempt_shows_its_request_redacted_and_the_response(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints(Reply(202, {"X-Trace": "t-1"}, b'{"ok":true}'))
    sub = subscribe(
        pages.system, endpoint, headers={"X-Key": "s3cr3t-value"}, flush_interval="0"
    ).subscription
    pages.system.publish([event("e1")])
    delivery = wait_until(
        lambda: next(iter(pages.system.deliveries.list(status="succeeded")), None),
        "the delivery to succeed",
    )
    (attempt,) = pages.system.deliveries.get(delivery.id)[1]
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(f"/contexts/ctx_lobby/deliveries/{delivery.id}")
    assert page.status_code == 200
    (shown,) = _sections(page.text)
    assert f"Attempt 1 (schedule) at {attempt.started_at}, " in shown
    assert f"POST {endpoint.url_for('/hook')}: HTTP 202" in shown
    assert "X-Key: [redacted]" in shown and "s3cr3t-value" not in page.text
    assert f"webhook-id: {delivery.id}" in shown
    assert "X-Trace: t-1" in shown and '{"ok":true}' in shown
    assert "What went wrong" not in shown
    assert sub.id in page.text  # the way back to its subscription


def test_what_went_wrong_is_said_in_words(pages: ApiServer, endpoints) -> None:
    hanging: Endpoint = endpoints(Hang())
    failing: Endpoint = endpoints(Reply(503, body=b"down for maintenance"))
    plain: Endpoint = endpoints()
    urls = {
        "timed out after 1 s": hanging.url_for("/hook"),
        "connection refused": closed_port_url(),
        "the endpoint answered HTTP 503": failing.url_for("/hook"),
        # plain HTTP where TLS was asked for: the handshake fails
        "TLS failed: the handshake or the certificate check": plain.url_for("/hook").replace(
            "http://", "https://"
        ),
    }
    made = {}
    for words, url in urls.items():
        sub = subscribe(pages.system, url, name=words, timeout="1s").subscription
        made[words] = pages.system.subscriptions.test(sub.id)[0].id
    with signed_in(pages, context="ctx_lobby") as browser:
        shown = {w: browser.get(f"/contexts/ctx_lobby/deliveries/{d}") for w, d in made.items()}
    for words, page in shown.items():
        (attempt,) = _sections(page.text)
        assert f"What went wrong: {words}." in attempt, attempt


def test_the_body_sent_is_pretty_raw_and_a_download_of_the_exact_bytes(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub = subscribe(pages.system, endpoint).subscription
    delivery, _ = pages.system.subscriptions.test(sub.id)
    sent = endpoint.requests[0].body
    here = f"/contexts/ctx_lobby/deliveries/{delivery.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        download = browser.get(f"{here}/body")
    text = html.unescape(page.text)
    assert json.dumps(json.loads(sent), indent=2) in text
    assert f"<details><summary>Raw bytes</summary><pre>{sent.decode()}</pre></details>" in text
    assert f'<a href="{here}/body" download>' in page.text
    assert download.status_code == 200
    assert download.content == sent
    assert download.headers["content-type"].startswith("application/json")
    assert download.headers["content-disposition"] == (f'attachment; filename="{delivery.id}.json"')


def test_another_contexts_delivery_and_its_body_answer_404(pages: ApiServer, endpoints) -> None:
    sub = subscribe(pages.system, endpoints(), context="ctx_arena").subscription
    delivery, _ = pages.system.subscriptions.test(sub.id)
    with signed_in(pages, context="ctx_lobby") as browser:
        answers = [
            browser.get(f"/contexts/{context}/deliveries/{delivery.id}{tail}")
            for context in ("ctx_lobby", "ctx_arena")
            for tail in ("", "/body")
        ]
    assert [a.status_code for a in answers] == [404] * 4
    assert all(delivery.id not in a.text or "no delivery" in a.text for a in answers)
    assert all("[{" not in a.text for a in answers)


def test_an_organizations_delivery_is_under_the_organizations_route(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub = subscribe(pages.system, endpoint, organization="org_acme").subscription
    delivery, _ = pages.system.subscriptions.test(sub.id)
    here = f"/organizations/org_acme/deliveries/{delivery.id}"
    with signed_in(pages, organization="org_acme") as browser:
        listed = browser.get(f"/organizations/org_acme/webhooks/{sub.id}")
        page = browser.get(here)
        download = browser.get(f"{here}/body")
        as_context = browser.get(f"/contexts/ctx_lobby/deliveries/{delivery.id}")
    assert f'<a href="{here}">' in listed.text
    assert page.status_code == 200 and f"/organizations/org_acme/webhooks/{sub.id}" in page.text
    assert download.content == endpoint.requests[0].body
    assert as_context.status_code == 404
