"""API tokens as facts in the log: created and revoked events, and the projection of the set.

A token's secret is shown once, when it is made; the log keeps only its SHA-256, which is all a
check needs. A context token may name its organization: that records the context as part of
the organization, so the organization's tokens see the context's subscriptions.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import msgspec

from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection

TokenScope = Literal["admin", "organization", "context"]
PREFIX = "swt_"


class TokenCreated(InternalEvent, frozen=True, kw_only=True, tag="token.created"):
    token_id: str
    name: str
    scope: TokenScope
    organization_id: str | None = None
    context_id: str | None = None
    read_only: bool = False
    expires_at: str | None = None
    secret_sha256: str


class TokenRevoked(InternalEvent, frozen=True, tag="token.revoked"):
    token_id: str


class Token(msgspec.Struct, frozen=True, kw_only=True):
    """One token as the projection keeps it: never its secret."""

    id: str
    name: str
    scope: TokenScope
    organization_id: str | None = None
    context_id: str | None = None
    read_only: bool = False
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    secret_sha256: str


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


_TAGS = {TokenCreated.type_name(), TokenRevoked.type_name()}
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Token).decode


class Tokens(Projection):
    """Every token ever made, revoked ones marked; and which organization each context is in."""

    name = "tokens"
    tables = ("tokens",)
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS tokens (
        id TEXT PRIMARY KEY,
        organization_id TEXT,
        context_id TEXT,
        state BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS tokens_context ON tokens (context_id);
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        changed: dict[str, Token] = {}
        for record in records:
            if record.type not in _TAGS:
                continue
            event = record.event()
            if isinstance(event, TokenCreated):
                changed[event.token_id] = Token(
                    id=event.token_id,
                    name=event.name,
                    scope=event.scope,
                    organization_id=event.organization_id,
                    context_id=event.context_id,
                    read_only=event.read_only,
                    created_at=record.recorded_at,
                    expires_at=event.expires_at,
                    secret_sha256=event.secret_sha256,
                )
            elif isinstance(event, TokenRevoked):
                token = changed.get(event.token_id) or self.get(conn, event.token_id)
                if token is not None and token.revoked_at is None:
                    changed[token.id] = msgspec.structs.replace(
                        token, revoked_at=record.recorded_at
                    )
        conn.executemany(
            "INSERT INTO tokens (id, organization_id, context_id, state) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            [(t.id, t.organization_id, t.context_id, _encode(t)) for t in changed.values()],
        )

    @staticmethod
    def get(conn: Any, token_id: str) -> Token | None:
        row = conn.execute("SELECT state FROM tokens WHERE id = ?", [token_id]).fetchone()
        return _decode(row[0]) if row else None

    @staticmethod
    def all(conn: Any) -> list[Token]:
        return [_decode(row[0]) for row in conn.execute("SELECT state FROM tokens ORDER BY id")]

    @staticmethod
    def organization_of(conn: Any, context_id: str) -> str | None:
        """The organization a context token recorded for this context, if any."""
        row = conn.execute(
            "SELECT organization_id FROM tokens WHERE context_id = ?"
            " AND organization_id IS NOT NULL ORDER BY id LIMIT 1",
            [context_id],
        ).fetchone()
        return row[0] if row else None

    @staticmethod
    def contexts_of(conn: Any, organization_id: str) -> set[str]:
        rows = conn.execute(
            "SELECT DISTINCT context_id FROM tokens WHERE organization_id = ?"
            " AND context_id IS NOT NULL",
            [organization_id],
        )
        return {row[0] for row in rows}
