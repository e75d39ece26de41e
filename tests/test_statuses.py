"""The typed words of the log (eventstore/statuses.py) still read every log written so far: a
fact holding each word any release has written decodes, and a word outside its set is refused."""

from __future__ import annotations

import json

import msgspec
import pytest

from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchSealed
from signin_webhooks.eventstore.events import InternalEvent, decode_internal, encode_internal
from signin_webhooks.eventstore.notifications import NotificationAttempted

# What releases have written, field by field: a record of the past, not a copy of the sets. A
# word dropped from its set (or renamed) fails here, since old logs hold it.
WRITTEN = {
    ("attempt.recorded", "outcome"): ("succeeded", "retrying", "failed", "pending"),
    ("attempt.recorded", "trigger"): ("schedule", "retry", "recover", "test"),
    ("batch.sealed", "trigger"): ("schedule", "recover", "test"),
    ("notification.attempted", "kind"): ("failing", "recovered", "disabled"),
    ("notification.attempted", "outcome"): ("sent", "retrying", "failed"),
}

ATTEMPT = AttemptRecorded(
    batch_id="dlv_1", subscription_id="sub_1", attempt=1, trigger="schedule",
    started_at="2026-01-01T00:00:00.000000Z", duration=0.1, url="https://example.com/hook",
    request_headers={}, status=200, response_headers={}, response_body="", error_kind=None,
    error=None, outcome="succeeded",
)  # fmt: skip
SEAL = BatchSealed(
    batch_id="dlv_1", subscription_id="sub_1", ranges=[(1, 1)], count=1, bytes=10, ndjson=False
)
NOTIFICATION = NotificationAttempted(
    notification_id="ntf_1", subscription_id="sub_1", kind="failing", attempt=1, status=200,
    error_kind=None, outcome="sent", url="https://example.com/ops", body="{}",
)  # fmt: skip
FACTS: dict[str, InternalEvent] = {fact.type_name(): fact for fact in (ATTEMPT, SEAL, NOTIFICATION)}


def written(fact: InternalEvent, field: str, word: str) -> bytes:
    """The fact as the log holds it, with `word` in `field`."""
    body = json.loads(encode_internal(fact))
    body[field] = word
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("tag", "field", "word"),
    [(tag, field, word) for (tag, field), words in WRITTEN.items() for word in words],
)
def test_every_word_a_release_has_written_decodes(tag: str, field: str, word: str) -> None:
    assert getattr(decode_internal(written(FACTS[tag], field, word)), field) == word


def test_a_seal_that_holds_no_trigger_reads_as_scheduled() -> None:
    body = json.loads(encode_internal(SEAL))
    del body["trigger"]
    decoded = decode_internal(json.dumps(body).encode())
    assert isinstance(decoded, BatchSealed) and decoded.trigger == "schedule"


@pytest.mark.parametrize(("tag", "field"), list(WRITTEN))
def test_a_word_outside_its_set_is_refused_as_the_log_is_read(tag: str, field: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=field):
        decode_internal(written(FACTS[tag], field, "paused"))
