"""The admin pages in a real browser: Playwright for Python driving Debian's Chromium through
the pages `serve` shows, over a running system on the test's clock and real endpoints.

They run when SIGNIN_WEBHOOKS_TEST_BROWSER names the Chromium to drive ("1": /usr/bin/chromium)
and are skipped otherwise, saying so. Where that variable is set, or CI=true, a missing Chromium
or a missing playwright package fails them rather than skip. Playwright's own browser download
is never used: the browser is launched from its path.

Every page a test visits is screenshot into the test's temporary folder (CI keeps them); with
SIGNIN_WEBHOOKS_WRITE_SCREENSHOTS=1 the pictures of docs/admin.md are written afresh as well.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

ENV = "SIGNIN_WEBHOOKS_TEST_BROWSER"
DEBIAN_CHROMIUM = "/usr/bin/chromium"
SKIP_REASON = f"set {ENV}={DEBIAN_CHROMIUM} to run the browser tests"


def required() -> bool:
    """Whether the browser tests must run: CI, or the variable set, promises a Chromium."""
    return bool(os.environ.get(ENV)) or os.environ.get("CI") == "true"


def chromium_path() -> str:
    """The Chromium to drive; skips, or fails where it is required, when there is none."""
    given = os.environ.get(ENV, "")
    if not required():
        pytest.skip(SKIP_REASON)
    path = DEBIAN_CHROMIUM if given in ("", "1") else given
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        unavailable(f"no Chromium at {path} (apt-get install -y chromium)")
    return path


def unavailable(reason: str) -> NoReturn:
    """Skip where the browser or playwright is absent; fail where CI or the variable promised."""
    if required():
        pytest.fail(f"{reason}, but {ENV} is set or CI=true")
    pytest.skip(reason)
