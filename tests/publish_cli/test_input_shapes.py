"""`publish`: the shapes of input it reads, and its report."""

from __future__ import annotations

import json

import pytest

from signin_webhooks.eventstore import MAX_EVENT_BYTES
from tests.helpers import event
from tests.publish_cli import cli, line, publish, replay


def test_publish_reads_one_object_from_a_file(db, tmp_path):
    source = tmp_path / "event.json"
    source.write_bytes(line(event(1, id="evt-1")))

    result = cli(db, "publish", "--json", str(source))

    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["appended"] == 1
    assert [e["id"] for e in replay(db)] == ["evt-1"]


@pytest.mark.parametrize("args", [["-"], []], ids=["dash", "default"])
def test_publish_reads_one_object_from_stdin(db, args):
    report = publish(db, line(event(1)), *args)

    assert report["appended"] == 1
    assert [e["session_id"] for e in replay(db)] == ["ses_1"]


def test_publish_reads_a_pretty_printed_object_spanning_lines(db):
    report = publish(db, json.dumps(event(1, meta={"a": [1, 2]}), indent=4).encode() + b"\n")

    assert report["appended"] == 1
    (published,) = replay(db)
    assert published["meta"] == {"a": [1, 2]}


def test_publish_reads_a_json_array(db):
    report = publish(db, json.dumps([event(1), event(2), event(3)], indent=2).encode())

    assert report["appended"] == 3
    assert [e["session_id"] for e in replay(db)] == ["ses_1", "ses_2", "ses_3"]


def test_publish_reads_ndjson_with_blank_lines_and_crlf(db):
    data = line(event(1)) + b"\n\n" + line(event(2)) + b"\r\n" + line(event(3)) + b"\n"

    report = publish(db, data)

    assert report["appended"] == 3
    assert [e["session_id"] for e in replay(db)] == ["ses_1", "ses_2", "ses_3"]


def test_publish_reports_appended_duplicates_and_sequences(db):
    data = line(event(1, id="evt-1")) + b"\n" + line(event(2, id="evt-2")) + b"\n"

    first = publish(db, data)
    again = publish(db, data + line(event(3, id="evt-3")))

    assert first == {"appended": 2, "duplicates": 0, "first_sequence": 1, "last_sequence": 2}
    assert again == {"appended": 1, "duplicates": 2, "first_sequence": 3, "last_sequence": 3}


def test_publishing_only_duplicates_exits_0_with_no_sequences(db):
    publish(db, line(event(1, id="evt-1")))

    again = publish(db, line(event(1, id="evt-1")))

    assert again == {"appended": 0, "duplicates": 1, "first_sequence": None, "last_sequence": None}
    assert len(replay(db)) == 1


def test_publish_report_for_people_is_key_value_lines(db):
    result = cli(db, "publish", input=line(event(1)))

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "appended: 1",
        "duplicates: 0",
        "first_sequence: 1",
        "last_sequence: 1",
    ]


def test_a_128_character_id_is_accepted(db):
    publish(db, line(event(1, id="a" * 128)))

    assert [e["id"] for e in replay(db)] == ["a" * 128]


def test_an_event_of_exactly_256_kib_is_accepted(db):
    padding = MAX_EVENT_BYTES - len(json.dumps(event(1, pad=""), separators=(",", ":")))
    data = json.dumps(event(1, pad="x" * padding), separators=(",", ":")).encode()
    assert len(data) == MAX_EVENT_BYTES

    assert publish(db, data)["appended"] == 1
