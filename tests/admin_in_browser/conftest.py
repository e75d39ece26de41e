"""A Chromium per module, the admin pages served over the test's system, and signed-in tabs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.admin_in_browser import chromium_path, unavailable
from tests.admin_in_browser.browser import VIEWPORT, Tab
from tests.api_server import ApiServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by the playwright package's driver."""
    path = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path)
        yield browser
        browser.close()


@pytest.fixture
def server(system: WebhookSystem) -> Iterator[ApiServer]:
    """`serve`'s app with its admin pages, by uvicorn on 127.0.0.1, over the test's system."""
    running = ApiServer(system, admin=True).start()
    yield running
    running.stop()


@pytest.fixture
def sign_in(chromium: Browser, server: ApiServer, tmp_path: Path) -> Iterator[Callable[..., Tab]]:
    """`sign_in(context="ctx_lobby")`: a tab of a browser profile of its own, signed in with
    a new token of that scope (the arguments of `tokens.create`), on the page it lands on."""
    opened: list[BrowserContext] = []

    def open_tab(**token: Any) -> Tab:
        token.setdefault("scope", "context" if "context" in token else "organization")
        _, secret = server.system.tokens.create(**token)
        profile = chromium.new_context(viewport=VIEWPORT)
        opened.append(profile)
        folder = tmp_path / f"tab-{len(opened)}"
        folder.mkdir()
        tab = Tab(profile.new_page(), server.url, folder)
        tab.goto("/signin")
        tab.page.get_by_label("Token").fill(secret)
        assert tab.submit("Sign in") == 200
        return tab

    yield open_tab
    for profile in opened:
        profile.close()
