"""Random bytes, random JSON and random valid events with random extra fields into `publish`,
through the command line and the Python API: taken whole or refused, leaving the log as it was."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import InvalidInput
from tests.hostile_input import (
    ASSIGNED,
    EXAMPLES,
    appended,
    assert_replayed_intact,
    cli,
    encoded,
    framings,
    json_values,
    mangled_bytes,
    primed_db,
    publish_inputs,
    replayed_lines,
    spelled,
    styles,
    take_or_refuse_via_cli,
    tampered_events,
    valid_events,
)


@EXAMPLES
@given(st.binary(max_size=400) | mangled_bytes())
def test_random_bytes_into_publish_are_taken_whole_or_refused_leaving_the_log_as_it_was(
    data: bytes,
) -> None:
    take_or_refuse_via_cli(data)


@EXAMPLES
@given(publish_inputs())
def test_random_json_into_publish_is_taken_whole_or_refused_leaving_the_log_as_it_was(
    data: bytes,
) -> None:
    take_or_refuse_via_cli(data)


@EXAMPLES
@given(st.lists(tampered_events() | json_values, min_size=1, max_size=4), st.booleans())
def test_the_python_api_takes_random_json_whole_or_refuses_it_leaving_the_log_as_it_was(
    objects: list[Any], as_text: bool
) -> None:
    data: Any = encoded(objects, "spaced", "array") if as_text else objects
    with primed_db() as db, WebhookSystem(db, deliver=False) as system:
        before = [r.replayed() for r in system.replay(internal=True)]
        try:
            result = system.publish(data)
        except InvalidInput as refusal:
            event("refused")
            assert str(refusal).strip()
            assert [r.replayed() for r in system.replay(internal=True)] == before
            return
        event("accepted")
        sent = [json.loads(json.dumps(o)) for o in objects]
        expected = appended(sent)
        assert result.appended == len(expected)
        replayed = [json.loads(r.replayed()) for r in system.replay(after_sequence=1)]
        assert_replayed_intact(expected, replayed)


@EXAMPLES
@given(st.lists(valid_events(), min_size=1, max_size=4), styles, framings)
def test_valid_events_with_random_extra_fields_are_replayed_byte_for_byte(
    events: list[dict[str, Any]], style: str, framing: str
) -> None:
    events = appended(events)  # a repeated id would be a duplicate, not a second event
    if framing == "object":
        events = events[:1]
    data = encoded(events, style, framing)
    with primed_db() as db:
        result = cli(db, "publish", "--json", input=data)
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["appended"] == len(events)
        lines = replayed_lines(db, "--after-sequence", "1")

    assert_replayed_intact([spelled(json.dumps(e)) for e in events], [spelled(x) for x in lines])
    if style in ("compact", "ascii"):  # sent compact: kept to the byte, the assigned fields added
        for event, line in zip(events, lines, strict=True):
            sent = encoded([event], style, "object")
            assert line.startswith(sent[:-1] + b",")
            assert set(json.loads(b"{" + line[len(sent) :])) <= ASSIGNED
