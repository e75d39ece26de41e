"""The event catalogue page: every type, grouped as the product page groups it, with when it
is emitted; linked from every page's header."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import CATALOGUE
from tests.admin_browser import signed_in
from tests.api_server import ApiServer


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def test_the_catalogue_groups_every_type_with_when_it_is_emitted(pages: ApiServer) -> None:
    with signed_in(pages, context="ctx_lobby") as browser:
        landed = browser.get("/contexts/ctx_lobby/webhooks")
        page = browser.get("/catalogue")
    assert page.status_code == 200
    assert 'href="/catalogue"' in landed.text
    text = html.unescape(page.text)
    headings = re.findall(r"<h2[^>]*>([^<]+)<", text)
    assert [h.strip() for h in headings] == [
        "Session lifecycle", "Arena session", "DHCP", "Configuration audit",
    ]  # fmt: skip
    for name, (when, required) in CATALOGUE.items():
        row = re.search(rf"<tr><td><code>{re.escape(name)}</code></td><td>(.*?)</td><td>(.*?)</td>",
                        text)  # fmt: skip
        assert row is not None, name
        assert row.group(1) == when
        assert re.findall(r"<code>([^<]+)</code>", row.group(2)) == list(required)
    # each type under its own group's heading
    sections = text.split("<h2")[1:]
    assert all(t in sections[0] for t in CATALOGUE if t.startswith("signin.session."))
    assert "signin.dhcp.granted" in sections[2] and "signin.dhcp.granted" not in sections[0]


def test_the_catalogue_shows_signed_out_too(pages: ApiServer) -> None:
    with httpx.Client(base_url=pages.url) as browser:
        page = browser.get("/catalogue")
    assert page.status_code == 200 and "signin.configuration.audit" in page.text
    assert "Sign out" not in page.text
