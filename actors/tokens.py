"""API tokens: made, listed, revoked and checked; each change an event in the log."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import os
import re

from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.eventstore import InvalidInput, NotFound, Store, format_time, parse_time
from signin_webhooks.eventstore.context_homes import ContextHomes
from signin_webhooks.eventstore.durations import DAY, parse_duration
from signin_webhooks.eventstore.errors import Conflict, Unauthorized
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.tokens import (
    PREFIX,
    Token,
    TokenCreated,
    TokenRevoked,
    Tokens,
    TokenScope,
    secret_digest,
)

_SHAPE = re.compile(r"swt_(tok_[0-9a-z]{16})_[A-Za-z0-9_-]{43}")
_DUMMY = secret_digest("swt_tok_0000000000000000_" + "A" * 43)


class AccessTokens:
    """The tokens of one database. A token is `swt_<id>_<secret>`: the id finds its record, and
    the secret's hash is compared in constant time."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    @property
    def store(self) -> Store:
        return self.ledger.store

    def clock(self) -> dt.datetime:
        return self.ledger.clock()

    def create(
        self,
        *,
        scope: TokenScope,
        organization: str | None = None,
        context: str | None = None,
        read_only: bool = False,
        name: str = "",
        expires: str | float | None = None,
    ) -> tuple[Token, str]:
        """Make a token; its secret is returned here, and only here."""
        organization, context = _text(organization), _text(context)
        if scope == "admin" and (organization or context):
            raise InvalidInput("an admin token has no «organization» or «context»; give one scope")
        if scope == "organization" and (not organization or context):
            raise InvalidInput("an organization token needs «organization» ID and no «context»")
        if scope == "context" and not context:
            raise InvalidInput("a context token needs «context» ID (and may name «organization»)")
        if scope not in ("admin", "organization", "context"):
            raise InvalidInput("«scope» must be 'admin', 'organization' or 'context'")
        if scope == "context" and organization:
            assert context is not None, "checked above: a context token names its context"
            known = Tokens.organization_of(self.store.project(Tokens()), context)
            if known is not None and known != organization:
                raise Conflict(
                    f"context {context!r} is in organization {known!r}, not {organization!r};"
                    " give «organization» " + known
                )
        expires_at = None
        if expires is not None:
            seconds = _lifetime(expires) if isinstance(expires, str) else float(expires)
            expires_at = format_time(self.clock() + dt.timedelta(seconds=seconds))
        if len(name) > 200 or any(ord(c) < 32 for c in name):
            raise InvalidInput("«name» must be at most 200 printable characters")
        token_id = short_id("tok_")
        secret = f"{PREFIX}{token_id}_{base64.urlsafe_b64encode(os.urandom(32)).decode()[:43]}"
        event = TokenCreated(
            token_id=token_id,
            name=name,
            scope=scope,
            organization_id=organization,
            context_id=context,
            read_only=read_only,
            expires_at=expires_at,
            secret_sha256=secret_digest(secret),
        )
        self.ledger.record(event)
        return self.get(token_id), secret

    def list(self) -> list[Token]:
        return Tokens.all(self.store.project(Tokens()))

    def get(self, token_id: str) -> Token:
        found = Tokens.get(self.store.project(Tokens()), token_id)
        if found is None:
            raise NotFound(f"no token {token_id!r}; `«tokens.list()»` shows the ids")
        return found

    def revoke(self, token_id: str) -> Token:
        token = self.get(token_id)
        if token.revoked_at is None:
            self.ledger.record(TokenRevoked(token_id=token_id))
        return self.get(token_id)

    def authenticate(self, presented: str) -> Token:
        """The token whose secret this is; raises Unauthorized for anything else. The hash is
        compared in constant time, and computed even for an unknown id."""
        shape = _SHAPE.fullmatch(presented)
        found = Tokens.get(self.store.project(Tokens()), shape.group(1)) if shape else None
        expected = found.secret_sha256 if found else _DUMMY
        matches = hmac.compare_digest(secret_digest(presented), expected)
        if found is None or not matches:
            raise Unauthorized("the token is not valid; make one with `«tokens.create()»`")
        if found.revoked_at is not None:
            raise Unauthorized(f"token {found.id} was revoked at {found.revoked_at}; use another")
        if found.expires_at is not None and parse_time(found.expires_at) <= self.clock():
            raise Unauthorized(f"token {found.id} expired at {found.expires_at}; make a new one")
        return found

    def organization_of(self, context_id: str) -> str | None:
        """The organization of this context: the one a context token recorded for it, else the
        one its first published event named; None for a context nothing is known of."""
        recorded = Tokens.organization_of(self.store.project(Tokens()), context_id)
        if recorded is not None:
            return recorded
        return ContextHomes.organization_of(self.store.project(ContextHomes()), context_id)

    def contexts_of(self, organization_id: str) -> set[str]:
        """The contexts a context token recorded as part of this organization."""
        return Tokens.contexts_of(self.store.project(Tokens()), organization_id)


def _lifetime(text: str) -> float:
    """A token's lifetime: a duration (`12h`), or whole days (`30d`)."""
    days = text.strip().removesuffix("d")
    if days != text.strip() and days.isascii() and days.isdigit() and 1 <= int(days) <= 3650:
        return int(days) * DAY
    return parse_duration(text, what="expires", minimum=1, maximum=3650 * DAY)


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value or len(value) > 200 or any(ord(c) < 32 for c in value):
        raise InvalidInput("a context or organization id must be 1 to 200 printable characters")
    return value
