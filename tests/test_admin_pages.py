"""The admin pages through a real server: signing in with a token sets a session cookie, a
Context admin lands on their Context's Webhooks and cannot reach another's, every form needs
its CSRF token, and signing out ends the session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _browser(server: ApiServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page carries its form's token"
    return found.group(1)


def _sign_in(browser: httpx.Client, secret: str) -> httpx.Response:
    form = browser.get("/signin")
    return browser.post("/signin", data={"token": secret, "csrf": _csrf(form.text)})


def test_a_context_admin_signs_in_and_lands_on_their_contexts_webhooks(
    pages: ApiServer,
) -> None:
    subs = pages.system.subscriptions
    subs.create(name="Lobby CRM", url="https://crm.example.com/h", context="ctx_lobby",
                description="Guest sign-ins")  # fmt: skip
    subs.create(name="Arena SIEM", url="https://siem.example.com/h", context="ctx_arena")
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        signed_in = _sign_in(browser, secret)
        cookie = signed_in.headers["set-cookie"]
        landed = browser.get(signed_in.headers["location"])
        other = browser.get("/contexts/ctx_arena/webhooks")
        org = browser.get("/organizations/org_acme/webhooks")
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/contexts/ctx_lobby/webhooks"
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" not in cookie
    assert secret not in cookie
    assert landed.status_code == 200
    assert "Lobby CRM" in landed.text and "Guest sign-ins" in landed.text
    assert "Arena SIEM" not in landed.text
    assert other.status_code == 404 and "Arena" not in other.text
    assert org.status_code == 404


def test_a_bad_token_is_refused_on_the_page_with_the_reason(pages: ApiServer) -> None:
    with _browser(pages) as browser:
        refused = _sign_in(browser, "nope")
        forged = browser.post("/signin", data={"token": "nope", "csrf": "guessed"})
        unsigned = browser.get("/contexts/ctx_lobby/webhooks")
    assert refused.status_code == 401
    assert "the token is not valid" in refused.text
    assert forged.status_code == 403
    assert unsigned.status_code == 303 and unsigned.headers["location"] == "/signin"


def test_signing_out_needs_the_csrf_token_and_ends_the_session(pages: ApiServer) -> None:
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        _sign_in(browser, secret)
        page = browser.get("/contexts/ctx_lobby/webhooks")
        forged = browser.post("/signout", data={})
        still = browser.get("/contexts/ctx_lobby/webhooks")
        out = browser.post("/signout", data={"csrf": _csrf(page.text)})
        after = browser.get("/contexts/ctx_lobby/webhooks")
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert still.status_code == 200
    assert out.status_code == 303
    assert after.status_code == 303 and after.headers["location"] == "/signin"


def test_a_revoked_token_ends_its_sessions(pages: ApiServer) -> None:
    token, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        _sign_in(browser, secret)
        pages.system.tokens.revoke(token.id)
        after = browser.get("/contexts/ctx_lobby/webhooks")
    assert after.status_code == 303


def test_an_admin_lands_on_every_scope_with_subscriptions(pages: ApiServer) -> None:
    pages.system.subscriptions.create(name="n", url="https://crm.example.com/h", context="c 1")
    _, secret = pages.system.tokens.create(scope="admin")
    with _browser(pages) as browser:
        landed = _sign_in(browser, secret)
        index = browser.get(landed.headers["location"])
        listed = browser.get("/contexts/c%201/webhooks")
    assert landed.headers["location"] == "/webhooks"
    assert 'href="/contexts/c%201/webhooks"' in index.text
    assert listed.status_code == 200 and ">n<" in listed.text
