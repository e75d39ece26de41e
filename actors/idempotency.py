"""Idempotency keys: a retried create is answered with the first response, not carried out
twice, while the key's window (the `idempotency_window` setting) lasts. Claims and answers
are events in the log (eventstore/idempotency.py)."""

from __future__ import annotations

import datetime as dt

import msgspec

from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.eventstore import InvalidInput
from signin_webhooks.eventstore.errors import Conflict
from signin_webhooks.eventstore.idempotency import (
    Answer,
    Claim,
    IdempotencyKeys,
    RequestClaimed,
    ResponseRecorded,
    claim_event_id,
    claim_id,
)
from signin_webhooks.eventstore.settings import InstallationSettings
from signin_webhooks.eventstore.store import Store
from signin_webhooks.eventstore.times import format_time

MAX_KEY = 255


class IdempotentRequests:
    """Claim a key before acting; record the answer after."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def claim(self, principal: str, key: str, fingerprint: str) -> Answer | None:
        """None when this request now holds the key and must `answer`; otherwise the earlier
        request's answer (its `status` None while it runs, or if it was interrupted). A key
        whose window is over is claimed anew, as if it had never been used."""
        if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
            raise InvalidInput("Idempotency-Key must be 1 to 255 printable ASCII characters")
        store = self.ledger.store
        claim = claim_id(principal, key)
        found = IdempotencyKeys.get(store.project(IdempotencyKeys()), claim)
        if found is not None and not self._over(store, found):
            return found.answer
        generation = found.generation + 1 if found else _next_generation(store, claim)
        event = RequestClaimed(claim=claim, fingerprint=fingerprint, generation=generation)
        try:
            with store.errors():
                store.log.append_internal([event], ids=[claim_event_id(claim, generation)])
        except Conflict:  # another request took the key between the look and the claim
            taken = IdempotencyKeys.get(store.project(IdempotencyKeys()), claim)
            if taken is None:  # expired by retention at once: the window is shorter than a call
                raise
            return taken.answer
        return None

    def answer(
        self, principal: str, key: str, *, status: int, content_type: str, body: bytes
    ) -> None:
        """Keep the answer for a retry, without the secret it may hold: a secret is shown once."""
        claim = claim_id(principal, key)
        found = IdempotencyKeys.get(self.ledger.store.project(IdempotencyKeys()), claim)
        event = ResponseRecorded(
            claim=claim,
            status=status,
            content_type=content_type,
            body=without_secret(body).decode("utf-8", "replace"),
            generation=found.generation if found else 0,
        )
        self.ledger.record(event)

    def _over(self, store: Store, found: Claim) -> bool:
        settings = InstallationSettings.current(store.project(InstallationSettings()))
        start = self.ledger.clock() - dt.timedelta(seconds=settings.idempotency_window)
        return found.claimed_at < format_time(start)


def _next_generation(store: Store, claim: str) -> int:
    """The first generation of `claim` the log has not seen: 0 for a key never used, more for
    one whose earlier claims retention expired."""
    generation = 0
    with store.errors():
        while store.log.holds_id(claim_event_id(claim, generation)):
            generation += 1
    return generation


def without_secret(body: bytes) -> bytes:
    """A JSON answer with its `secret` (create, rotate-secret) set to null; others as they are."""
    try:
        shown = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body
    if not isinstance(shown, dict) or shown.get("secret") is None:
        return body
    return msgspec.json.encode({**shown, "secret": None})
