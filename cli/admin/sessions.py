"""Admin sessions: signing in with a token gives a session cookie; every form carries the
session's CSRF token. Sessions live in the serving process: signing out, or a restart, ends
them, and a revoked or expired token ends its sessions at the next page.

A session ends after 30 minutes without a page (IDLE) and 12 hours after signing in whatever
its use (LIFETIME). At most 1,000 are open at once (LIMIT): signing in past that ends the
session used least recently, so signing in again and again cannot fill the server's memory."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

COOKIE = "signin_webhooks_session"
IDLE = 30 * 60.0
LIFETIME = 12 * 3600.0
LIMIT = 1000


@dataclass
class Session:
    secret: str  # the token it was signed in with, kept here and never in the cookie
    opened_at: float
    used_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # what the next page shows once, then forgets: a new secret, a test delivery's outcome
    notice: dict[str, Any] | None = None


class Sessions:
    """The open sessions, on `clock` (seconds; monotonic unless a test injects its own)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        idle: float = IDLE,
        lifetime: float = LIFETIME,
        limit: int = LIMIT,
    ) -> None:
        self._clock, self.idle, self.lifetime, self.limit = clock, idle, lifetime, limit
        self._open: OrderedDict[str, Session] = OrderedDict()  # least recently used first

    def open(self, token_secret: str) -> tuple[str, Session]:
        now = self._clock()
        self._sweep(now)
        while len(self._open) >= self.limit:
            self._open.popitem(last=False)
        key = secrets.token_urlsafe(32)
        self._open[key] = session = Session(token_secret, opened_at=now, used_at=now)
        return key, session

    def get(self, key: str | None) -> Session | None:
        """The session of this cookie, if it is open and has not expired; using it keeps it."""
        session = self._open.get(key) if key else None
        if session is None or key is None:
            return None
        now = self._clock()
        if self._expired(session, now):
            del self._open[key]
            return None
        session.used_at = now
        self._open.move_to_end(key)
        return session

    def close(self, key: str | None) -> None:
        if key:
            self._open.pop(key, None)

    def __len__(self) -> int:
        return len(self._open)

    def _expired(self, session: Session, now: float) -> bool:
        return now - session.used_at >= self.idle or now - session.opened_at >= self.lifetime

    def _sweep(self, now: float) -> None:
        for key in [k for k, s in self._open.items() if self._expired(s, now)]:
            del self._open[key]


def csrf_matches(session: Session, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(session.csrf.encode(), given.encode())
