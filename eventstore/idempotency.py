"""Idempotency keys as facts in the log: a create retried under the same key is answered with
the first response instead of being carried out twice.

A request claims its key before it acts, with the key as the claim's event id: the log's unique
ids make the claim atomic, across threads and processes. Its response is recorded after it.
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
    """The claim's event id: one per key and per caller, so two tokens never share a key."""
    digest = hashlib.sha256(f"{principal}\0{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return _CLAIM_PREFIX + digest[:48]


class RequestClaimed(InternalEvent, frozen=True, tag="request.claimed"):
    """A request under an Idempotency-Key began; `fingerprint` tells a retry from a new request."""

    claim: str
    fingerprint: str


class ResponseRecorded(InternalEvent, frozen=True, tag="request.answered"):
    """What the claimed request answered; a retry under its key is answered the same."""

    claim: str
    status: int
    content_type: str
    body: str

    def redacted(self) -> ResponseRecorded:
        return msgspec.structs.replace(self, body=REDACTED)  # it may hold a new secret


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """A claimed key: its fingerprint, and the response once there is one."""

    fingerprint: str
    status: int | None = None
    content_type: str | None = None
    body: str | None = None


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Answer).decode
_TAGS = {RequestClaimed.type_name(), ResponseRecorded.type_name()}


class IdempotencyKeys(Projection):
    name = "idempotency_keys"
    tables = ("idempotency_keys",)
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS idempotency_keys (claim TEXT PRIMARY KEY, state BLOB NOT NULL)
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        changed: dict[str, Answer] = {}
        for record in records:
            if record.type not in _TAGS:
                continue
            event = record.event()
            if isinstance(event, RequestClaimed):
                changed[event.claim] = Answer(fingerprint=event.fingerprint)
            elif isinstance(event, ResponseRecorded):
                found = changed.get(event.claim) or self.get(conn, event.claim)
                if found is not None:
                    changed[event.claim] = msgspec.structs.replace(
                        found, status=event.status, content_type=event.content_type, body=event.body
                    )
        conn.executemany(
            "INSERT INTO idempotency_keys (claim, state) VALUES (?, ?)"
            " ON CONFLICT (claim) DO UPDATE SET state = excluded.state",
            [(claim, _encode(answer)) for claim, answer in changed.items()],
        )

    @staticmethod
    def get(conn: Any, claim: str) -> Answer | None:
        row = conn.execute("SELECT state FROM idempotency_keys WHERE claim = ?", [claim]).fetchone()
        return _decode(row[0]) if row else None
