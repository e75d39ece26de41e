"""Admin sessions: signing in with a token gives a session cookie; every form carries the
session's CSRF token. Sessions live in the serving process: signing out, or a restart, ends
them, and a revoked or expired token ends its sessions at the next page."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

COOKIE = "signin_webhooks_session"


@dataclass
class Session:
    secret: str  # the token it was signed in with, kept here and never in the cookie
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))


class Sessions:
    def __init__(self) -> None:
        self._open: dict[str, Session] = {}

    def open(self, token_secret: str) -> tuple[str, Session]:
        key = secrets.token_urlsafe(32)
        self._open[key] = session = Session(token_secret)
        return key, session

    def get(self, key: str | None) -> Session | None:
        return self._open.get(key) if key else None

    def close(self, key: str | None) -> None:
        if key:
            self._open.pop(key, None)


def csrf_matches(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())
