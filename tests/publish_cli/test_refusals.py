"""`publish`: every bad input is one clear refusal that appends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import EVENT_TYPES, MAX_DEPTH, MAX_EVENT_BYTES, InvalidInput
from tests.helpers import PREFIX, assert_reported, event
from tests.publish_cli import VALID, cli, line, publish, replay

BIG = line(event(1, pad="x" * MAX_EVENT_BYTES))

BAD_INPUTS = {
    "not-json": (b"{this is not json", ["not valid JSON"]),
    "not-utf8": (b'{"type": "signin.session.created", "x": "\xff\xfe"}', ["UTF-8"]),
    "empty": (b"", ["no events"]),
    "only-whitespace": (b" \n\t\n", ["no events"]),
    "empty-array": (b"[]", ["empty list"]),
    "not-an-object": (b'"signin.session.created"', ["JSON object"]),
    "unknown-type": (line(event(1, type="signin.session.exploded")), ["signin.session.exploded"]),
    "missing-type": (line({k: v for k, v in event(1).items() if k != "type"}), ["'type'"]),
    "missing-required": (line({k: v for k, v in event(1).items() if k != "session_id"}),
                         ["'session_id'"]),
    "mistyped-required": (line(event(1, session_id=42)), ["'session_id'"]),
    "empty-organization": (line(event(1, organization_id="")), ["'organization_id'"]),
    "missing-context": (line({k: v for k, v in event(1).items() if k != "context_id"}),
                        ["'context_id'"]),
    "bad-timestamp": (line(event(1, occurred_at="yesterday at noon")), ["'occurred_at'"]),
    "impossible-timestamp": (line(event(1, occurred_at="2026-02-30T09:00:00Z")),
                             ["'occurred_at'"]),
    "timestamp-without-zone": (line(event(1, occurred_at="2026-01-31T09:00:00")),
                               ["'occurred_at'", "time zone"]),
    "over-256-kib": (BIG, ["256 KiB"]),
    "id-outside-alphabet": (line(event(1, id="evt 1/ä")), ["'id'"]),
    "id-of-129-characters": (line(event(1, id="a" * 129)), ["'id'"]),
    "empty-id": (line(event(1, id="")), ["'id'"]),
    "sends-sequence": (line(event(1, sequence=7)), ["'sequence'"]),
    "sends-recorded-at": (line(event(1, recorded_at="2026-01-31T09:00:00Z")), ["'recorded_at'"]),
    "repeated-key": (b'{"type":"signin.session.created","organization_id":"o","context_id":"c",'
                     b'"session_id":"s","session_id":"t"}', ["'session_id'", "repeated"]),
    "repeated-nested-key": (b'{"type":"signin.session.created","organization_id":"o",'
                            b'"context_id":"c","session_id":"s","meta":{"a":1,"a":2}}',
                            ["'a'", "repeated"]),
    "ndjson-bad-line": (VALID + b"\n\n" + VALID.replace(b"ses_0", b"ses_2") + b"\n"
                        + line(event(4, type="nope")) + b"\n", ["line 4", "'type'"]),
    "ndjson-line-not-json": (VALID + b"\n" + b"{oops\n", ["line 2", "not valid JSON"]),
    "array-bad-item": (json.dumps([event(0), event(1), event(2, session_id=None)]).encode(),
                       ["index 2", "'session_id'"]),
    "array-item-not-object": (json.dumps([event(0), 5]).encode(), ["index 1", "object"]),
}  # fmt: skip


@pytest.mark.parametrize(("data", "fragments"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_with_exit_2_and_appends_nothing(db, data, fragments):
    result = cli(db, "publish", input=data)

    assert result.exit_code == 2
    assert result.stdout == ""
    message = "\n".join(assert_reported(result.stderr))
    for fragment in fragments:
        assert fragment in message
    assert replay(db) == []


def test_an_unknown_type_is_refused_naming_every_valid_type(db):
    result = cli(db, "publish", input=line(event(1, type="signin.session.exploded")))

    assert result.exit_code == 2
    message = "\n".join(assert_reported(result.stderr))
    assert all(t in message for t in EVENT_TYPES)


def test_every_invalid_event_of_a_call_is_reported_and_none_appended(db):
    publish(db, line(event(0, id="evt-0")))
    data = b"\n".join(
        [line(event(1)), line(event(2, session_id=5)), line(event(3)), line(event(4, type="x"))]
    )

    result = cli(db, "publish", input=data)

    assert result.exit_code == 2
    message = "\n".join(assert_reported(result.stderr))
    assert "line 2" in message and "line 4" in message
    assert "line 1" not in message and "line 3" not in message
    assert [e["id"] for e in replay(db)] == ["evt-0"]


def test_ndjson_whose_first_line_is_not_json_is_reported_by_line(db):
    result = cli(db, "publish", input=b"{oops\n" + VALID + b"\n" + VALID + b"\n")

    assert result.exit_code == 2
    assert "line 1" in "\n".join(assert_reported(result.stderr))
    assert replay(db) == []


def nested(depth: int) -> dict[str, Any]:
    """An event whose field `x` nests arrays until the event is `depth` levels deep."""
    value: Any = []
    for _ in range(depth - 2):
        value = [value]
    return event(1, x=value)


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_too_deep_is_one_line_naming_the_depth_limit(db, depth):
    result = cli(db, "publish", input=b'{"x":' + b"[" * depth + b"]" * depth + b"}")

    assert result.exit_code == 2, result.stderr
    assert assert_reported(result.stderr) == [
        f"{PREFIX}event: nested deeper than {MAX_DEPTH} levels of objects and arrays; flatten it"
    ]
    assert replay(db) == []


def test_an_event_one_level_past_the_depth_limit_is_refused_by_line(db):
    data = line(nested(MAX_DEPTH)) + b"\n" + line(nested(MAX_DEPTH + 1))

    result = cli(db, "publish", input=data)

    assert result.exit_code == 2
    assert assert_reported(result.stderr) == [
        f"{PREFIX}line 2: nested deeper than {MAX_DEPTH} levels of objects and arrays; flatten it",
        f"{PREFIX}nothing was appended",
    ]
    assert replay(db) == []


def test_the_python_api_refuses_deep_json_as_invalid_input(db):
    with WebhookSystem(db, deliver=False) as system:
        deep_text = b'{"x":' + b"[" * 1000 + b"]" * 1000 + b"}"
        for deep in (nested(1000), deep_text, line(nested(MAX_DEPTH + 1)), [nested(70)]):
            with pytest.raises(InvalidInput, match=f"nested deeper than {MAX_DEPTH} levels"):
                system.publish(deep)
        assert system.publish(nested(MAX_DEPTH)).appended == 1


def test_an_id_ending_in_a_newline_is_outside_the_alphabet(db):
    result = cli(db, "publish", input=line(event(1, id="evt-1\n")))

    assert result.exit_code == 2
    assert "'id'" in "\n".join(assert_reported(result.stderr))
    assert replay(db) == []


def test_same_id_with_other_content_is_refused_and_appends_nothing(db):
    publish(db, line(event(1, id="evt-1")))

    result = cli(db, "publish", input=line(event(2)) + b"\n" + line(event(1, id="evt-1", x=1)))

    assert result.exit_code == 2
    assert "evt-1" in "\n".join(assert_reported(result.stderr))
    assert [e["id"] for e in replay(db)] == ["evt-1"]


def test_same_id_with_keys_in_another_order_is_a_duplicate(db):
    published = event(1, id="evt-1")
    publish(db, line(published))

    again = publish(db, line(dict(reversed(list(published.items())))))

    assert (again["appended"], again["duplicates"]) == (0, 1)


def test_an_unreadable_input_file_is_refused(db, tmp_path):
    result = cli(db, "publish", str(tmp_path / "missing.json"))

    assert result.exit_code == 2
    assert "missing.json" in assert_reported(result.stderr)[0]
