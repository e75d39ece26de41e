"""`publish`, `replay` and `catalogue` as a person drives them, on real database files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest
from click.testing import Result

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import (
    EVENT_TYPES,
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    InternalEvent,
    InvalidInput,
    Store,
    format_time,
)
from tests.helpers import PREFIX, assert_reported, invoke, run_unprivileged


class NoteRecorded(InternalEvent, frozen=True, tag="test.cli.note_recorded"):
    note: str
    secret: str = ""

    def redacted(self) -> NoteRecorded:
        return msgspec.structs.replace(self, secret="[redacted]")


def event(n: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "type": "signin.session.created",
        "organization_id": "org-1",
        "context_id": "ctx-1",
        "session_id": f"s-{n}",
        **fields,
    }


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def cli(db: Path | None, *args: str, input: bytes | None = None, **kw: Any) -> Result:
    prefix = [] if db is None else ["--db", str(db)]
    return invoke(*prefix, *args, input=input, **kw)


def publish(db: Path, data: bytes, *args: str) -> dict[str, Any]:
    result = cli(db, "publish", "--json", *args, input=data)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def replay(db: Path, *args: str) -> list[dict[str, Any]]:
    result = cli(db, "replay", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(text) for text in result.stdout.splitlines()]


# -- publish: the input shapes ---------------------------------------------------------------


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
    assert [e["session_id"] for e in replay(db)] == ["s-1"]


def test_publish_reads_a_pretty_printed_object_spanning_lines(db):
    report = publish(db, json.dumps(event(1, meta={"a": [1, 2]}), indent=4).encode() + b"\n")

    assert report["appended"] == 1
    (published,) = replay(db)
    assert published["meta"] == {"a": [1, 2]}


def test_publish_reads_a_json_array(db):
    report = publish(db, json.dumps([event(1), event(2), event(3)], indent=2).encode())

    assert report["appended"] == 3
    assert [e["session_id"] for e in replay(db)] == ["s-1", "s-2", "s-3"]


def test_publish_reads_ndjson_with_blank_lines_and_crlf(db):
    data = line(event(1)) + b"\n\n" + line(event(2)) + b"\r\n" + line(event(3)) + b"\n"

    report = publish(db, data)

    assert report["appended"] == 3
    assert [e["session_id"] for e in replay(db)] == ["s-1", "s-2", "s-3"]


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


# -- replay ----------------------------------------------------------------------------------


def test_replay_prints_every_event_with_its_assigned_fields_and_unknown_fields(db):
    dhcp = (
        b'{"type":"signin.dhcp.granted","organization_id":"org-1","context_id":"ctx-1",'
        b'"mac":"aa:bb","ip":"10.0.0.1","lease":{"seconds":3600,"price":1.50},"name":"\\u00e9"}'
    )
    publish(
        db,
        b"[" + dhcp + b"," + line(event(2, id="evt-2", occurred_at="2026-01-31T09:00:00Z")) + b"]",
    )

    result = cli(db, "replay")

    first, second = result.stdout.splitlines()
    assert '"lease":{"seconds":3600,"price":1.50},"name":"\\u00e9"' in first
    dhcp, session = json.loads(first), json.loads(second)
    assert (dhcp["sequence"], session["sequence"]) == (1, 2)
    assert dhcp["recorded_at"] == dhcp["occurred_at"]  # occurred_at defaults to publish time
    assert dhcp["id"] and dhcp["recorded_at"].endswith("Z")
    assert session["id"] == "evt-2" and session["occurred_at"] == "2026-01-31T09:00:00Z"
    assert set(session) == {*event(2), "id", "occurred_at", "sequence", "recorded_at"}


@pytest.fixture
def recorded(db, clock) -> list[str]:
    """Four events published a minute apart (on an injected clock); returns their times."""
    times = []
    with WebhookSystem(db, deliver=False, clock=clock) as system:
        for n, (kind, org, ctx) in enumerate(
            [
                ("signin.session.created", "org-a", "ctx-1"),
                ("signin.dhcp.granted", "org-a", "ctx-2"),
                ("signin.session.revoked", "org-b", "ctx-3"),
                ("signin.configuration.audit", "org-a", "ctx-1"),
            ]
        ):
            times.append(format_time(clock.now))
            system.publish(
                {
                    "id": f"evt-{n}",
                    "type": kind,
                    "organization_id": org,
                    "context_id": ctx,
                    "session_id": "s",
                    "mac": "m",
                    "ip": "i",
                    "entity_type": "t",
                    "entity_id": "e",
                    "action": "a",
                }
            )
            clock.advance(minutes=1)
    return times


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], [0, 1, 2, 3]),
        (["--type", "signin.session.*"], [0, 2]),
        (["--type", "signin.dhcp.granted", "--type", "signin.configuration.audit"], [1, 3]),
        (["--organization", "org-a"], [0, 1, 3]),
        (["--context", "ctx-1"], [0, 3]),
        (["--organization", "org-a", "--context", "ctx-2"], [1]),
        (["--after-sequence", "2"], [2, 3]),
        (["--limit", "2"], [0, 1]),
        (["--after-sequence", "1", "--limit", "2"], [1, 2]),
        (["--since", "{1}"], [1, 2, 3]),
        (["--until", "{1}"], [0]),
        (["--since", "{1}", "--until", "{3}"], [1, 2]),
    ],
)
def test_replay_filters(db, recorded, args, expected):
    args = [arg.format(*recorded) for arg in args]

    assert [e["id"] for e in replay(db, *args)] == [f"evt-{n}" for n in expected]


def test_replay_refuses_a_type_that_matches_nothing(db, recorded):
    result = cli(db, "replay", "--type", "signin.nothing")

    assert result.exit_code == 2
    (message,) = assert_reported(result.stderr)
    assert all(t in message for t in EVENT_TYPES)


def test_replay_refuses_a_time_without_a_zone(db, recorded):
    result = cli(db, "replay", "--since", "2026-01-31T09:00:00")

    assert result.exit_code == 2
    assert "time zone" in assert_reported(result.stderr)[0]


def test_replay_all_adds_the_internal_events_with_secrets_redacted(db):
    publish(db, line(event(1)))
    store = Store(db)
    store.log.append_internal([NoteRecorded(note="hello", secret="whsec_c2VjcmV0")])
    store.close()
    publish(db, line(event(2)))

    signin_only = replay(db)
    everything = replay(db, "--all")

    assert [e["sequence"] for e in signin_only] == [1, 3]
    assert [e["type"] for e in everything] == [
        "signin.session.created",
        "test.cli.note_recorded",
        "signin.session.created",
    ]
    internal = everything[1]
    assert internal["note"] == "hello" and internal["sequence"] == 2
    assert internal["secret"] == "[redacted]"
    assert internal["recorded_at"] and internal["id"]
    assert "whsec_c2VjcmV0" not in cli(db, "replay", "--all").stdout


def test_replay_stats_counts_events_per_type_and_context(db, recorded):
    publish(db, line(event(9, organization_id="org-a", context_id="ctx-1")))

    result = cli(db, "replay", "--stats", "--json")
    table = cli(db, "replay", "--stats")

    assert json.loads(result.stdout) == [
        {"type": "signin.configuration.audit", "organization_id": "org-a", "context_id": "ctx-1",
         "count": 1},
        {"type": "signin.dhcp.granted", "organization_id": "org-a", "context_id": "ctx-2",
         "count": 1},
        {"type": "signin.session.created", "organization_id": "org-a", "context_id": "ctx-1",
         "count": 2},
        {"type": "signin.session.revoked", "organization_id": "org-b", "context_id": "ctx-3",
         "count": 1},
    ]  # fmt: skip
    assert table.stdout.splitlines()[0].split() == ["TYPE", "ORGANIZATION", "CONTEXT", "COUNT"]
    assert ["signin.session.created", "org-a", "ctx-1", "2"] in [
        row.split() for row in table.stdout.splitlines()
    ]


def test_replay_of_an_empty_log_prints_nothing(db):
    with WebhookSystem(db, deliver=False) as system:
        system.store  # noqa: B018  (opening it creates the empty log)
    result = cli(db, "replay")

    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")


# -- catalogue -------------------------------------------------------------------------------


def test_catalogue_lists_the_twelve_event_types_with_their_required_fields(db):
    result = cli(db, "catalogue", "--json")
    table = cli(db, "catalogue")

    rows = json.loads(result.stdout)
    required = {r["type"]: r["required"] for r in rows}
    assert len(rows) == 12
    assert required == {
        **{
            f"signin.session.{s}": ["session_id"]
            for s in ("created", "resumed", "requested", "approved", "verified", "denied",
                      "revoked")
        },
        "signin.arenasession.login": ["arena_session_id", "mac"],
        "signin.arenasession.resumed": ["arena_session_id", "mac"],
        "signin.dhcp.granted": ["mac", "ip"],
        "signin.dhcp.expired": ["mac", "ip"],
        "signin.configuration.audit": ["entity_type", "entity_id", "action"],
    }  # fmt: skip
    assert all(r["description"] for r in rows)
    assert all(t in table.stdout for t in required)
    assert not db.exists()  # the catalogue needs no database


# -- publish: every bad input is one clear refusal that appends nothing -----------------------

VALID = line(event(0))
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
    "ndjson-bad-line": (VALID + b"\n\n" + VALID.replace(b"s-0", b"s-2") + b"\n"
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


# -- publish: the database -------------------------------------------------------------------


def test_the_database_is_created_readable_by_its_owner_only(db):
    old = os.umask(0)
    try:
        publish(db, line(event(1)))
    finally:
        os.umask(old)

    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_the_environment_selects_the_database(tmp_path):
    chosen = tmp_path / "from-env.db"

    result = cli(None, "publish", input=line(event(1)), env={"SIGNIN_WEBHOOKS_DB": str(chosen)})

    assert result.exit_code == 0, result.stderr
    assert [e["session_id"] for e in replay(chosen)] == ["s-1"]


def test_a_database_path_that_is_a_directory_is_a_store_failure(tmp_path):
    result = cli(tmp_path, "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "directory" in assert_reported(result.stderr)[0]


def test_a_database_in_a_missing_folder_is_a_store_failure(tmp_path):
    result = cli(tmp_path / "nowhere" / "hooks.db", "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "nowhere" in assert_reported(result.stderr)[0]


def test_a_file_that_is_not_sqlite_is_left_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"these are my notes, not a database\n" * 200)

    result = cli(notes, "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "not" in assert_reported(result.stderr)[0]
    assert notes.read_bytes() == b"these are my notes, not a database\n" * 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_database_in_an_unwritable_folder_is_a_store_failure(tmp_path, command):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        done = run_unprivileged(command, "--db", str(folder / "hooks.db"), "publish",
                                input=VALID)  # fmt: skip
    finally:
        folder.chmod(0o700)

    assert done.returncode == 1
    assert_reported(done.stderr.decode(), done.stdout.decode())
    assert list(folder.iterdir()) == []


def test_a_read_only_database_is_a_store_failure_that_appends_nothing(tmp_path, command):
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "hooks.db"
    publish(db, line(event(1)))
    db.chmod(0o400)
    folder.chmod(0o500)
    try:
        done = run_unprivileged(command, "--db", str(db), "publish", input=line(event(2)))
    finally:
        folder.chmod(0o700)
        db.chmod(0o600)

    assert done.returncode == 1
    assert "read-only" in assert_reported(done.stderr.decode(), done.stdout.decode())[0]
    assert [e["session_id"] for e in replay(db)] == ["s-1"]


# -- in a real process ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "data", "code"),
    [
        ([], b"\xff\xfe\x00{", 2),
        ([], line(event(1, type="nope")), 2),
        (["--db", "."], VALID, 1),
    ],
    ids=["not-utf8", "unknown-type", "directory"],
)
def test_a_real_process_reports_one_clear_error_and_no_traceback(
    tmp_path, command, args, data, code
):
    db = tmp_path / "hooks.db"
    done = subprocess.run(
        [command, "--db", str(db), *args, "publish"],
        input=data,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )

    assert done.returncode == code
    assert done.stdout == b""
    assert_reported(done.stderr.decode(), done.stdout.decode())
    if db.exists():
        assert replay(db) == []
