"""Admin sessions end: after IDLE without a page, LIFETIME after signing in however busy, and
the least recently used one when LIMIT are open; on a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.admin.sessions import IDLE, LIFETIME, LIMIT, Sessions
from tests.api_server import ApiServer
from tests.test_admin_pages import _browser, _sign_in

PAGE = "/contexts/ctx_lobby/webhooks"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def seconds() -> Clock:
    """The sessions' clock, moved by hand."""
    return Clock()


@pytest.fixture
def pages(system: WebhookSystem, seconds: Clock) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True)
    server.app.state.sessions = Sessions(seconds, limit=3)
    server.start()
    yield server
    server.stop()


def _opened(pages: ApiServer) -> httpx.Client:
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    browser = _browser(pages)
    signed_in = _sign_in(browser, secret)
    assert signed_in.status_code == 303
    return browser


def _open(browser: httpx.Client) -> bool:
    answer = browser.get(PAGE)
    assert answer.status_code in (200, 303)
    return answer.status_code == 200


def test_a_session_ends_after_it_is_idle_for_IDLE(pages: ApiServer, seconds: Clock) -> None:
    with closing(_opened(pages)) as browser:
        seconds.now += IDLE - 1
        kept = _open(browser)
        seconds.now += IDLE - 1  # a page restarts the wait
        still = _open(browser)
        seconds.now += IDLE
        ended = not _open(browser)
        again = _open(browser)
    assert kept and still and ended and not again


def test_a_session_ends_LIFETIME_after_signing_in_however_busy(
    pages: ApiServer, seconds: Clock
) -> None:
    opened_at = seconds.now
    with closing(_opened(pages)) as browser:
        answers = []
        while seconds.now - opened_at < LIFETIME + IDLE:
            seconds.now += IDLE / 2
            answers.append((seconds.now - opened_at < LIFETIME, _open(browser)))
    assert all(expected == kept for expected, kept in answers)
    assert [kept for _, kept in answers].count(False) >= 1


def test_past_the_limit_signing_in_ends_the_session_used_least_recently(
    pages: ApiServer, seconds: Clock
) -> None:
    browsers = [_opened(pages) for _ in range(3)]
    seconds.now += 1
    assert _open(browsers[0])  # now the second is the least recently used
    browsers.append(_opened(pages))
    kept = [_open(b) for b in browsers]
    for b in browsers:
        b.close()
    assert kept == [True, False, True, True]
    assert len(pages.app.state.sessions) == 3


def test_the_cookie_lasts_no_longer_than_the_session(pages: ApiServer) -> None:
    _, secret = pages.system.tokens.create(scope="context", context="ctx_lobby")
    with _browser(pages) as browser:
        cookie = _sign_in(browser, secret).headers["set-cookie"]
    assert f"Max-Age={int(LIFETIME)}" in cookie


def test_the_figures_are_the_ones_the_docs_give() -> None:
    text = (Path(__file__).parent.parent / "docs" / "api.md").read_text()
    assert f"{int(IDLE // 60)} minutes" in text and f"{int(LIFETIME // 3600)} hours" in text
    assert f"{LIMIT:,}" in text
