"""One subscription's page and one delivery's page: its settings, health and recent
deliveries; each attempt, the exact body sent and the response; another tenant's answers 404."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator

import httpx
import pytest

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply
from tests.test_admin_pages import _browser, _sign_in


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def test_a_subscription_page_shows_its_settings_health_and_recent_deliveries(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints(Reply(200, body=b"thanks"))
    subs = pages.system.subscriptions
    sub = subs.create(name="Lobby CRM", url=endpoint.url_for("/hook"), context="ctx_lobby",
                      headers={"X-Key": "s3cr3t-value"}).subscription  # fmt: skip
    delivery, _ = subs.test(sub.id)
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        _sign_in(browser, secret)
        page = browser.get(f"/contexts/ctx_lobby/webhooks/{sub.id}")
        one = browser.get(f"/contexts/ctx_lobby/deliveries/{delivery.id}")
    assert page.status_code == 200
    assert "Lobby CRM" in page.text and endpoint.url_for("/hook") in page.text
    assert "s3cr3t-value" not in page.text and "[redacted]" in page.text
    assert f"/contexts/ctx_lobby/deliveries/{delivery.id}" in page.text
    assert one.status_code == 200
    sent = endpoint.requests[0].body.decode()
    shown = html.unescape(one.text)
    assert sent in shown  # the raw bytes, one click away
    assert json.dumps(json.loads(sent), indent=2) in shown
    assert "thanks" in one.text and "HTTP 200" in one.text


def test_another_contexts_subscription_and_delivery_answer_404(pages: ApiServer, endpoints) -> None:
    subs = pages.system.subscriptions
    theirs = subs.create(name="Arena", url=endpoints().url_for("/hook"), context="ctx_arena")
    delivery, _ = subs.test(theirs.subscription.id)
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        _sign_in(browser, secret)
        answers = [
            browser.get(f"/contexts/ctx_lobby/webhooks/{theirs.subscription.id}"),
            browser.get(f"/contexts/ctx_arena/webhooks/{theirs.subscription.id}"),
            browser.get(f"/contexts/ctx_lobby/deliveries/{delivery.id}"),
            browser.get(f"/contexts/ctx_arena/deliveries/{delivery.id}"),
        ]
    assert [a.status_code for a in answers] == [404, 404, 404, 404]
    assert all("Arena" not in a.text for a in answers)


def test_pages_need_a_session(pages: ApiServer) -> None:
    with httpx.Client(base_url=pages.url) as browser:
        answer = browser.get("/contexts/ctx_lobby/webhooks/sub_x")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin"
