"""One signed-in browser tab on the admin pages: it visits, follows links, submits forms as a
person does (by their labels and names), and screenshots every page it lands on."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.helpers import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, ViewportSize

VIEWPORT: ViewportSize = {"width": 1000, "height": 700}
WRITE_SCREENSHOTS = "SIGNIN_WEBHOOKS_WRITE_SCREENSHOTS"
DOCS_PICTURES = ROOT / "docs" / "admin"


class Tab:
    """A page of the browser at the server `url`; its screenshots go to `folder`."""

    def __init__(self, page: Page, url: str, folder: Path) -> None:
        self.page, self.url, self.folder = page, url, folder
        self.shots: list[Path] = []

    def goto(self, path: str) -> int:
        """Visit `path` of the server; the status of the page shown."""
        answer = self.page.goto(self.url + path)
        assert answer is not None
        self.shot()
        return answer.status

    def reload(self) -> None:
        self.page.reload()
        self.shot()

    def follow(self, name: str) -> int:
        """Click the link of that text; the status of the page it leads to."""
        return self._navigate(self.page.get_by_role("link", name=name, exact=True))

    def submit(self, name: str, within: Locator | None = None) -> int:
        """Press the button of that name (in `within`, say a form); the status of the answer."""
        where = within or self.page
        return self._navigate(where.get_by_role("button", name=name, exact=True))

    def _navigate(self, target: Locator) -> int:
        with self.page.expect_navigation() as navigation:
            target.click()
        answer = navigation.value
        assert answer is not None, "the click led to a page"
        self.shot()
        return answer.status

    @property
    def path(self) -> str:
        return self.page.url.removeprefix(self.url)

    def text(self, selector: str = "main") -> str:
        return self.page.locator(selector).inner_text()

    def shot(self) -> None:
        """Screenshot the whole page into the test's folder, numbered in the order visited."""
        slug = re.sub(r"[^A-Za-z0-9_]+", "-", self.path.split("?")[0]).strip("-") or "root"
        path = self.folder / f"{len(self.shots) + 1:02d}-{slug}.png"
        self.page.screenshot(path=path, full_page=True)
        self.shots.append(path)

    def picture(self, name: str, top: Locator | None = None) -> None:
        """docs/admin/NAME.png, the page as the viewport shows it (scrolled to put `top` at the
        top), when SIGNIN_WEBHOOKS_WRITE_SCREENSHOTS=1 asks for the documentation's pictures."""
        if os.environ.get(WRITE_SCREENSHOTS) == "1":
            DOCS_PICTURES.mkdir(exist_ok=True)
            if top is not None:
                top.evaluate("element => element.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=DOCS_PICTURES / f"{name}.png", animations="disabled")
