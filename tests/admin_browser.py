"""A signed-in httpx client of the admin pages, as a browser without JavaScript uses them:
reading each form's CSRF token from the page and posting the form back."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from tests.api_server import ApiServer
from tests.test_admin_pages import _browser, _sign_in


@contextmanager
def signed_in(server: ApiServer, **token: Any) -> Iterator[httpx.Client]:
    """A client signed in with a new token: context=..., organization=..., or scope='admin';
    read_only=True for one that may not write."""
    scope: Any = token.pop("scope", None) or ("context" if "context" in token else "organization")
    assert scope in ("admin", "organization", "context")
    _, secret = server.system.tokens.create(scope=scope, **token)
    with _browser(server) as browser:
        answer = _sign_in(browser, secret)
        assert answer.status_code == 303, answer.text
        yield browser


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, "the page carries its form's token"
    return found.group(1)


def error_beside(page: str, key: str) -> str | None:
    """The error shown beside the input `key`, as a person reads it."""
    found = re.search(rf'<p class="error" id="{re.escape(key)}-error">(.*?)</p>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def value_of(page: str, key: str) -> str | None:
    """What the input `key` holds on the page (a text input or a textarea)."""
    found = re.search(rf'<input id="{re.escape(key)}" name="{key}"[^>]* value="([^"]*)"', page)
    if found is None:
        found = re.search(rf'<textarea id="{re.escape(key)}" [^>]*>(.*?)</textarea>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def checked(page: str) -> list[str]:
    """The event choices ticked on the page."""
    return re.findall(r'name="events" value="([^"]+)" checked', page)
