"""`demo` ends by printing the URL of its admin pages and a token made to sign in with them;
`demo --serve` keeps them up until Ctrl-C, and Ctrl-C ends it cleanly."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import time

import httpx

from tests.admin_browser import csrf_of

_PAGES = re.compile(r"6\. admin pages: (http://127\.0\.0\.1:\d+)(/contexts/ctx_lobby/webhooks/\S+)")
_TOKEN = re.compile(r"sign in with the token made for the demo: (\S+)")


def test_demo_ends_by_itself_printing_its_admin_pages_and_a_token(command: str) -> None:
    done = subprocess.run([command, "demo"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.rstrip("\n").splitlines()
    assert _PAGES.fullmatch(lines[-3])
    assert _TOKEN.fullmatch(lines[-2].strip())
    assert "`signin-webhooks demo --serve` keeps them up until Ctrl-C" in lines[-1]


def _read_until(process: subprocess.Popen[bytes], marker: bytes, timeout: float = 120) -> str:
    """What the process printed, up to and including the line holding `marker`."""
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out and time.monotonic() < deadline:
        if selector.select(timeout=0.5):
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            out += chunk
    assert marker in out, out.decode(errors="replace")
    return out.decode()


def test_demo_serve_keeps_its_admin_pages_up_until_ctrl_c(command: str) -> None:
    process = subprocess.Popen(
        [command, "demo", "--serve"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        printed = _read_until(process, b"serving them until Ctrl-C")
        pages, token = _PAGES.search(printed), _TOKEN.search(printed)
        assert pages is not None and token is not None
        with httpx.Client(base_url=pages.group(1), timeout=30) as browser:
            form = browser.get("/signin")
            signed_in = browser.post(
                "/signin", data={"token": token.group(1), "csrf": csrf_of(form.text)}
            )
            page = browser.get(pages.group(2))
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    assert signed_in.status_code == 303
    assert page.status_code == 200
    assert "Lobby CRM" in page.text and "succeeded" in page.text
    assert process.returncode == 0, stderr.decode(errors="replace")
