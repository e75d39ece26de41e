"""htmx comes from the package itself, not the internet: served as it was vendored, named on
every page; the recent deliveries it refreshes send an ended session to sign in as a page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli import admin
from tests.admin_browser import signed_in
from tests.api_server import ApiServer

STATIC = Path(admin.__file__).parent / "static"


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def test_htmx_is_served_from_the_package_with_its_licence(pages: ApiServer) -> None:
    with httpx.Client(base_url=pages.url) as browser:
        script = browser.get("/static/htmx.min.js")
        licence = browser.get("/static/htmx.LICENSE")
        signin = browser.get("/signin")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert script.content == (STATIC / "htmx.min.js").read_bytes()
    assert "htmx 2.0.11" in licence.text and "Zero-Clause BSD" in licence.text
    assert '<script src="/static/htmx.min.js" defer></script>' in signin.text
    assert "https://" not in signin.text.split("</head>")[0]  # nothing fetched from elsewhere


def test_a_refresh_after_the_session_ended_sends_the_page_to_sign_in(pages: ApiServer) -> None:
    sub = pages.system.subscriptions.create(
        name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby"
    ).subscription
    where = f"/contexts/ctx_lobby/webhooks/{sub.id}/deliveries"
    with signed_in(pages, context="ctx_lobby") as browser:
        refreshed = browser.get(where, headers={"HX-Request": "true"})
        browser.cookies.clear()
        ended = browser.get(where, headers={"HX-Request": "true"})
        plain = browser.get(where)
    assert refreshed.status_code == 200 and 'id="recent-list"' in refreshed.text
    assert ended.status_code == 204 and ended.headers["hx-redirect"] == "/signin"
    assert plain.status_code == 303 and plain.headers["location"] == "/signin"
