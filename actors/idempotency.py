"""Idempotency keys: a retried create is answered with the first response, not carried out
twice. Claims and answers are events in the log (eventstore/idempotency.py)."""

from __future__ import annotations

import msgspec

from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.eventstore import InvalidInput
from signin_webhooks.eventstore.errors import Conflict
from signin_webhooks.eventstore.idempotency import (
    Answer,
    IdempotencyKeys,
    RequestClaimed,
    ResponseRecorded,
    claim_id,
)

MAX_KEY = 255


class IdempotentRequests:
    """Claim a key before acting; record the answer after."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def claim(self, principal: str, key: str, fingerprint: str) -> Answer | None:
        """None when this request now holds the key and must `answer`; otherwise the earlier
        request's answer (its `status` None while it runs, or if it was interrupted)."""
        if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
            raise InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters")
        store = self.ledger.store
        claim = claim_id(principal, key)
        found = IdempotencyKeys.get(store.project(IdempotencyKeys()), claim)
        if found is not None:
            return found
        try:
            with store.errors():
                store.log.append_internal(
                    [RequestClaimed(claim=claim, fingerprint=fingerprint)], ids=[claim]
                )
        except Conflict:  # another request took the key between the look and the claim
            return IdempotencyKeys.get(store.project(IdempotencyKeys()), claim)
        return None

    def answer(
        self, principal: str, key: str, *, status: int, content_type: str, body: bytes
    ) -> None:
        """Keep the answer for a retry, without the secret it may hold: a secret is shown once."""
        event = ResponseRecorded(
            claim=claim_id(principal, key),
            status=status,
            content_type=content_type,
            body=without_secret(body).decode("utf-8", "replace"),
        )
        self.ledger.record(event)


def without_secret(body: bytes) -> bytes:
    """A JSON answer with its `secret` (create, rotate-secret) set to null; others as they are."""
    try:
        shown = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    if not isinstance(shown, dict) or shown.get("secret") is None:
        return body
    return msgspec.json.encode({**shown, "secret": None})
