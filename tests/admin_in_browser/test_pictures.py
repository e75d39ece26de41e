"""docs/admin.md's pictures are the browser tests' own: each one it shows is a PNG of the tests'
viewport under docs/admin/, written by a test's `picture(...)`, and none is left unshown."""

from __future__ import annotations

import re
import struct

from tests.admin_in_browser.browser import DOCS_PICTURES, VIEWPORT
from tests.helpers import ROOT

PAGE = ROOT / "docs" / "admin.md"
HERE = ROOT / "tests" / "admin_in_browser"


def test_each_picture_the_page_shows_is_one_a_browser_test_writes() -> None:
    shown = re.findall(r"!\[[^\]]+\]\(admin/([a-z-]+)\.png\)", PAGE.read_text())
    written = {
        name
        for path in HERE.glob("test_*.py")
        for name in re.findall(r'\.picture\("([a-z-]+)"', path.read_text())
    }
    assert sorted(shown) == sorted(written) == ["delivery", "list", "subscription"]
    assert sorted(p.stem for p in DOCS_PICTURES.iterdir()) == sorted(shown)
    for name in shown:
        data = (DOCS_PICTURES / f"{name}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (VIEWPORT["width"], VIEWPORT["height"]), name
