"""Idempotency keys as facts in the log: a create retried under the same key is answered with
the first response instead of being carried out twice, for as long as the key's window lasts.

A request claims its key before it acts, with the claim's own id as its event id: the log's
unique ids make the claim atomic, across threads and processes. Its response is recorded after
it. Once the window (the `idempotency_window` setting) is over, the key may be claimed again:
the next claim is the key's next generation, under an id of its own, and retention drops the
answers of claims older than the window from the projection (`IdempotencyKeysExpired`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection

REDACTED = "[redacted]"
# Underscores are not allowed in a published event's id, so no publisher can take a claim's id.
_CLAIM_PREFIX = "idem_"


def claim_id(principal: str, key: str) -> str:
    """The key's claim: one per key and per caller, so two tokens never share a key."""
    digest = hashlib.sha256(f"{principal}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return _CLAIM_PREFIX + digest[:48]


def claim_event_id(claim: str, generation: int) -> str:
    """The event id of the claim's `generation`: the first is the claim itself, as it always was."""
    return claim if generation == 0 else f"{claim}.{generation}"


class RequestClaimed(InternalEvent, frozen=True, tag="request.claimed"):
    """A request under an Idempotency-Key began; `fingerprint` tells a retry from a new request.
    `generation` counts the claims of one key whose window ended before it."""

    claim: str
    fingerprint: str
    generation: int = 0


class ResponseRecorded(InternalEvent, frozen=True, tag="request.answered"):
    """What the claimed request answered; a retry under its key is answered the same."""

    claim: str
    status: int
    content_type: str
    body: str
    generation: int = 0

    def redacted(self) -> ResponseRecorded:
        return msgspec.structs.replace(self, body=REDACTED)  # it may hold a new secret


class IdempotencyKeysExpired(InternalEvent, frozen=True, tag="request.keys_expired"):
    """Retention: the claims made before `claimed_before` are over, and their answers dropped."""

    claimed_before: str
    count: int


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed key: its fingerprint, and the response once there is one."""

    fingerprint: str
    status: int | None = None
    content_type: str | None = None
    body: str | None = None


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """A key's latest claim: its generation, when it was made, and its answer."""

    generation: int
    claimed_at: str
    answer: Answer


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Answer).decode
_TAGS = {
    RequestClaimed.type_name(),
    ResponseRecorded.type_name(),
    IdempotencyKeysExpired.type_name(),
}


class IdempotencyKeys(Projection):
    """Each key's latest claim, while its window lasts (or until retention next runs)."""

    name = "idempotency_claims"
    tables = ("idempotency_claims",)
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS idempotency_claims (
        claim TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        claimed_at TEXT NOT NULL,
        state BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idempotency_claims_claimed_at
        ON idempotency_claims (claimed_at);
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        changed: dict[str, Claim] = {}
        for record in records:
            if record.type not in _TAGS:
                continue
            event = record.event()
            if isinstance(event, RequestClaimed):
                changed[event.claim] = Claim(
                    generation=event.generation,
                    claimed_at=record.recorded_at,
                    answer=Answer(fingerprint=event.fingerprint),
                )
            elif isinstance(event, ResponseRecorded):
                found = changed.get(event.claim) or self.get(conn, event.claim)
                if found is not None and found.generation == event.generation:
                    answer = msgspec.structs.replace(
                        found.answer,
                        status=event.status,
                        content_type=event.content_type,
                        body=event.body,
                    )
                    changed[event.claim] = msgspec.structs.replace(found, answer=answer)
            elif isinstance(event, IdempotencyKeysExpired):
                self._write(conn, changed)
                changed = {}
                conn.execute(
                    "DELETE FROM idempotency_claims WHERE claimed_at < ?", [event.claimed_before]
                )
        self._write(conn, changed)

    @staticmethod
    def _write(conn: Any, changed: dict[str, Claim]) -> None:
        conn.executemany(
            "INSERT INTO idempotency_claims (claim, generation, claimed_at, state)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (claim) DO UPDATE SET"
            " generation = excluded.generation, claimed_at = excluded.claimed_at,"
            " state = excluded.state",
            [
                (claim, found.generation, found.claimed_at, _encode(found.answer))
                for claim, found in changed.items()
            ],
        )

    @staticmethod
    def get(conn: Any, claim: str) -> Claim | None:
        row = conn.execute(
            "SELECT generation, claimed_at, state FROM idempotency_claims WHERE claim = ?",
            [claim],
        ).fetchone()
        if row is None:
            return None
        return Claim(generation=row[0], claimed_at=row[1], answer=_decode(bytes(row[2])))

    @staticmethod
    def count_before(conn: Any, claimed_before: str) -> int:
        """How many claims retention would expire at `claimed_before`."""
        row = conn.execute(
            "SELECT count(*) FROM idempotency_claims WHERE claimed_at < ?", [claimed_before]
        ).fetchone()
        return int(row[0])
