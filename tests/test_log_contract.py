"""The event log's contract, written once and run against each backend.

As the eventsourcing library tests its recorders, `LogContract` states what any log must do and
`TestLog` runs it on each backend from one parametrised fixture: a SQLite file, a PostgreSQL schema.
"""

from __future__ import annotations

import abc
import itertools
import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from signin_webhooks.eventstore import (
    AppendResult,
    EventLog,
    Filter,
    InternalEvent,
    InvalidInput,
    Store,
    format_time,
    parse_events,
    read_events,
)
from tests.backends import BACKENDS
from tests.helpers import event

RFC3339_UTC_MICROS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class NoteRecorded(InternalEvent, frozen=True, tag="test.log.note_recorded"):
    note: str


def no_repeated_keys(data: bytes) -> dict[str, Any]:
    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"repeated key in {data!r}"
        return dict(pairs)

    return json.loads(data, object_pairs_hook=check)


@dataclass(frozen=True)
class Appended:
    """An append that added events, so that its first and last sequences are numbers."""

    appended: int
    duplicates: int
    first_sequence: int
    last_sequence: int

    @classmethod
    def of(cls, result: AppendResult) -> Appended:
        first, last = result.first_sequence, result.last_sequence
        assert first is not None and last is not None, f"nothing was appended: {result}"
        return cls(result.appended, result.duplicates, first, last)


class LogContract(abc.ABC):
    """What every log backend must do.

    A subclass provides the fixtures `log` (a fresh, empty log whose clock is the `clock` fixture)
    and `other_log` (a second connection to the same storage), and the two hooks below, which
    reach under the log the way an operator or a failing disk would.
    """

    @abc.abstractmethod
    def delete_events(self, log: EventLog, sequences: list[int]) -> None:
        """Remove rows behind the log's back, as retention or compaction would."""

    @abc.abstractmethod
    def fail_inserts_of(self, log: EventLog, event_id: str) -> type[Exception]:
        """Make the storage refuse the row with this id; returns the error it then raises."""

    @staticmethod
    def append(log: EventLog, *events: dict[str, Any]) -> Appended:
        return Appended.of(log.append(parse_events(json.dumps(list(events)).encode())))

    # -- appending and reading back ------------------------------------------------------------

    def test_appended_events_read_back_in_order_with_their_envelope(self, log, clock):
        given = event(1, id="evt-1", occurred_at="2026-01-30T08:00:00+01:00", note="first")
        self.append(log, given, event(2, organization="org-2", context="ctx-9"))

        first, second = log.read()

        assert (first.id, first.type, first.organization_id, first.context_id) == (
            "evt-1",
            "signin.session.created",
            "org_acme",
            "ctx_lobby",
        )
        assert first.occurred_at == "2026-01-30T08:00:00+01:00"
        assert first.recorded_at == second.recorded_at == format_time(clock.now)
        assert RFC3339_UTC_MICROS.match(first.recorded_at)
        assert (second.organization_id, second.context_id) == ("org-2", "ctx-9")
        assert second.occurred_at == format_time(clock.now)  # defaults to the publish time
        assert not first.internal and not second.internal
        assert json.loads(first.delivered()) == {
            **given,
            "sequence": first.sequence,
            "recorded_at": first.recorded_at,
        }

    def test_an_empty_log_reads_nothing(self, log):
        assert list(log.read()) == []
        assert log.last_sequence() == 0

    def test_sequences_increase_strictly_and_are_consecutive_within_a_call(self, log):
        results = [self.append(log, *(event(i) for i in range(size))) for size in (1, 4, 2, 3)]

        for result, size in zip(results, (1, 4, 2, 3), strict=True):
            assert result.appended == size
            assert result.last_sequence - result.first_sequence + 1 == size
        for before, after in itertools.pairwise(results):
            assert after.first_sequence > before.last_sequence
        expected = [s for r in results for s in range(r.first_sequence, r.last_sequence + 1)]
        assert [r.sequence for r in log.read()] == expected
        assert log.last_sequence() == results[-1].last_sequence

    def test_sequences_are_never_reused_after_rows_are_deleted(self, log):
        result = self.append(log, *(event(i) for i in range(5)))
        old_max = result.last_sequence
        self.delete_events(log, [old_max - 1, old_max])

        again = self.append(log, event(9))

        assert again.first_sequence > old_max
        assert [r.sequence for r in log.read()][-1] == again.first_sequence
        assert old_max not in [r.sequence for r in log.read()]

    # -- idempotent append by id ---------------------------------------------------------------

    def test_same_id_with_same_content_is_a_duplicate_and_appends_nothing(self, log):
        first = self.append(log, event(1, id="evt-1"))

        again = self.append(log, event(1, id="evt-1"), event(2, id="evt-2"))

        assert (again.appended, again.duplicates) == (1, 1)
        assert again.first_sequence == again.last_sequence > first.last_sequence
        assert [r.id for r in log.read()] == ["evt-1", "evt-2"]

    def test_a_call_of_duplicates_only_reports_no_sequence(self, log):
        self.append(log, event(1, id="evt-1"))

        again = log.append(parse_events(json.dumps([event(1, id="evt-1")]).encode()))

        assert again == AppendResult(0, 1, None, None)
        assert len(list(log.read())) == 1

    def test_same_id_twice_in_one_call_is_appended_once(self, log):
        result = self.append(log, event(1, id="evt-1"), event(1, id="evt-1"))

        assert (result.appended, result.duplicates) == (1, 1)
        assert [r.id for r in log.read()] == ["evt-1"]

    def test_same_content_with_keys_in_another_order_is_a_duplicate(self, log):
        published = event(1, id="evt-1", extra={"a": 1, "b": [1, 2]})
        self.append(log, published)
        reordered = dict(reversed(list(published.items())))
        reordered["extra"] = {"b": [1, 2], "a": 1}

        again = log.append(parse_events(json.dumps([reordered]).encode()))

        assert (again.appended, again.duplicates) == (0, 1)
        assert len(list(log.read())) == 1

    def test_same_id_with_other_content_appends_nothing_even_for_the_valid_events(self, log):
        self.append(log, event(1, id="evt-1"))
        before = list(log.read())

        with pytest.raises(InvalidInput, match="evt-1"):
            self.append(log, event(2, id="evt-2"), event(3), event(1, id="evt-1", note="changed"))

        assert list(log.read()) == before
        assert log.last_sequence() == before[-1].sequence

    def test_same_id_with_true_where_1_was_published_is_other_content(self, log):
        self.append(log, event(1, id="evt-1", flag=1))

        with pytest.raises(InvalidInput, match="evt-1"):
            self.append(log, event(1, id="evt-1", flag=True))

    # -- a call is all or none -----------------------------------------------------------------

    def test_a_call_is_all_or_none_when_the_storage_fails_mid_call(self, log):
        self.append(log, event(0, id="evt-0"))
        error = self.fail_inserts_of(log, "evt-3")

        with pytest.raises(error):
            self.append(log, *(event(i, id=f"evt-{i}") for i in range(1, 5)))

        assert [r.id for r in log.read()] == ["evt-0"]
        after = self.append(log, event(5, id="evt-5"))
        assert after.appended == 1
        assert [r.id for r in log.read()] == ["evt-0", "evt-5"]

    @staticmethod
    def append_in_chunks(log: EventLog, *lines: dict[str, Any]) -> Appended:
        data = b"\n".join(json.dumps(e).encode() for e in lines)
        return Appended.of(log.append_chunks(read_events(data, chunk=2)))

    def test_a_call_in_chunks_is_one_append_with_consecutive_sequences(self, log):
        self.append(log, event(0, id="evt-0"))

        result = self.append_in_chunks(log, *(event(i) for i in range(1, 8)))

        assert (result.appended, result.duplicates) == (7, 0)
        assert (result.first_sequence, result.last_sequence) == (2, 8)
        assert len({r.recorded_at for r in log.read() if r.sequence > 1}) == 1  # one call
        assert [r.sequence for r in log.read()] == list(range(1, 9))

    def test_an_invalid_event_in_a_later_chunk_rolls_back_the_chunks_before_it(self, log):
        self.append(log, event(0, id="evt-0"))
        events = [event(i, id=f"evt-{i}") for i in range(1, 6)] + [event(6, session_id="")]

        with pytest.raises(InvalidInput, match="line 6"):
            self.append_in_chunks(log, *events)

        assert [r.id for r in log.read()] == ["evt-0"]

    def test_ids_repeated_across_chunks_are_duplicates_or_refused(self, log):
        first, again = event(1, id="evt-1"), event(1, id="evt-1")

        result = self.append_in_chunks(log, first, event(2), event(3), again)
        assert (result.appended, result.duplicates) == (3, 1)

        with pytest.raises(InvalidInput, match="line 4: id 'evt-9' is already in the log"):
            self.append_in_chunks(
                log, event(9, id="evt-9"), event(4), event(5), event(10, id="evt-9")
            )
        assert log.last_sequence() == 3

    def test_an_id_is_looked_up_in_the_chunks_written_before_it_without_ids(self, log):
        events = [event(1, id="evt-1"), event(2), event(3), event(4), event(1, id="evt-1")]

        result = self.append_in_chunks(log, *events)

        assert (result.appended, result.duplicates) == (4, 1)
        assert [r.sequence for r in log.read()] == [1, 2, 3, 4]

    # -- reading with filters ------------------------------------------------------------------

    def test_read_filters_by_type_and_type_pattern(self, log):
        types = [
            "signin.session.created",
            "signin.dhcp.granted",
            "signin.session.revoked",
            "signin.arenasession.login",
        ]
        self.append(log, *(event(i, type=t) for i, t in enumerate(types)))

        def read_types(*wanted: str) -> list[str]:
            return [r.type for r in log.read(filter=Filter(types=wanted))]

        assert read_types("signin.session.*") == [types[0], types[2]]
        assert read_types("signin.dhcp.granted", "signin.arenasession.login") == [
            types[1],
            types[3],
        ]
        assert read_types("signin.configuration.audit") == []
        assert read_types() == types

    def test_read_filters_by_organization_and_context(self, log):
        self.append(
            log,
            event(1, organization="org-a", context="ctx-1"),
            event(2, organization="org-a", context="ctx-2"),
            event(3, organization="org-b", context="ctx-1"),
        )

        def sessions(**window: Any) -> list[str]:
            return [
                json.loads(r.delivered())["session_id"] for r in log.read(filter=Filter(**window))
            ]

        assert sessions(organization="org-a") == ["ses_1", "ses_2"]
        assert sessions(context="ctx-1") == ["ses_1", "ses_3"]
        assert sessions(organization="org-a", context="ctx-1") == ["ses_1"]
        assert sessions(organization="org-z") == []

    def test_read_window_on_recorded_at_includes_since_and_excludes_until(self, log, clock):
        times = []
        for i in range(3):
            times.append(format_time(clock.now))
            self.append(log, event(i))
            clock.advance(minutes=1)

        def sessions(**window: Any) -> list[str]:
            return [
                json.loads(r.delivered())["session_id"] for r in log.read(filter=Filter(**window))
            ]

        assert sessions(since=times[1], until=times[2]) == ["ses_1"]
        assert sessions(since=times[1]) == ["ses_1", "ses_2"]
        assert sessions(until=times[1]) == ["ses_0"]
        assert sessions(since=times[0], until=times[0]) == []

    def test_read_after_a_sequence_and_up_to_a_limit(self, log):
        result = self.append(log, *(event(i) for i in range(6)))
        first = result.first_sequence

        assert [r.sequence for r in log.read(first + 2)] == list(range(first + 3, first + 6))
        assert [r.sequence for r in log.read(limit=2)] == [first, first + 1]
        assert [r.sequence for r in log.read(first + 1, limit=3)] == [
            first + 2,
            first + 3,
            first + 4,
        ]
        assert list(log.read(result.last_sequence)) == []

    def test_reading_is_paged_and_returns_every_event_in_order(self, log):
        result = self.append(log, *(event(i) for i in range(5)))
        everything = list(range(result.first_sequence, result.last_sequence + 1))

        assert [r.sequence for r in log.read(page=2)] == everything
        assert [r.sequence for r in log.read(page=2, limit=3)] == everything[:3]
        assert [r.sequence for r in log.read(page=5)] == everything
        assert [r.sequence for r in log.read(page=1, limit=10)] == everything

    def test_paged_reading_with_a_filter_skips_what_does_not_match(self, log):
        kinds = ["signin.session.created", "signin.dhcp.granted"]
        self.append(log, *(event(i, type=kinds[i % 2]) for i in range(9)))

        dhcp = list(log.read(filter=Filter(types=("signin.dhcp.*",)), page=2))

        assert [json.loads(r.delivered())["ip"] for r in dhcp] == [
            "10.20.0.1",
            "10.20.0.3",
            "10.20.0.5",
            "10.20.0.7",
        ]

    # -- internal events -----------------------------------------------------------------------

    def test_internal_events_are_read_only_when_asked_for(self, log):
        self.append(log, event(1))
        last = log.append_internal([NoteRecorded(note="hello")])
        self.append(log, event(2))

        assert [r.type for r in log.read()] == ["signin.session.created"] * 2
        (internal,) = log.read(signin=False, internal=True)
        assert internal.sequence == last and internal.internal
        assert internal.type == "test.log.note_recorded"
        assert internal.event() == NoteRecorded(note="hello")
        assert [r.internal for r in log.read(internal=True)] == [False, True, False]

    # -- other connections ---------------------------------------------------------------------

    def test_data_version_changes_after_another_connection_appends(self, log, other_log):
        self.append(log, event(1))
        before = log.data_version()
        assert log.data_version() == before

        other_log.append(parse_events(json.dumps(event(2)).encode()))

        assert log.data_version() != before
        assert len(list(log.read())) == 2

    # -- assigned ids --------------------------------------------------------------------------

    def test_assigned_ids_are_uuidv7_and_time_ordered(self, log):
        before_ms = time.time_ns() // 1_000_000
        calls = [self.append(log, *(event(i) for i in range(3))) for _ in range(4)]
        after_ms = time.time_ns() // 1_000_000

        records = list(log.read())
        ids = [uuid.UUID(r.id) for r in records]
        assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
        assert [str(u) for u in ids] == [r.id for r in records]  # canonical text
        stamps = [int(u.hex[:12], 16) for u in ids]
        assert all(before_ms <= ms <= after_ms for ms in stamps)
        assert stamps == sorted(stamps)
        for call in calls:
            in_call = [
                r.id for r in records if call.first_sequence <= r.sequence <= call.last_sequence
            ]
            assert in_call == sorted(in_call) and len(set(in_call)) == 3
        assert len({r.id for r in records}) == 12

    # -- delivered bytes -----------------------------------------------------------------------

    def test_delivered_bytes_keep_unknown_fields_byte_for_byte(self, log):
        raw = (
            b'{"type":"signin.session.created","organization_id":"org-1","context_id":"ctx-1",'
            b'"session_id":"ses_1","amount":1.50,"name":"\\u00e9","big":12345678901234567890,'
            b'"nested":{"z":[1,2.50,{"c":null}],"a":"caf\xc3\xa9","e":1e3}}'
        )
        log.append(parse_events(raw))

        (record,) = log.read()
        delivered = record.delivered()

        assert delivered.startswith(raw[:-1] + b",")
        tail = no_repeated_keys(b"{" + delivered[len(raw) :])
        assert tail == {
            "id": record.id,
            "occurred_at": record.occurred_at,
            "sequence": record.sequence,
            "recorded_at": record.recorded_at,
        }
        no_repeated_keys(delivered)

    def test_delivered_bytes_of_a_pretty_printed_event_keep_every_value_as_written(self, log):
        raw = (
            b'{\n  "id": "evt-1",\n  "type": "signin.session.created",\n'
            b'  "organization_id": "org-1",\n  "context_id": "ctx-1",\n'
            b'  "occurred_at": "2026-01-31T09:00:00Z",\n  "session_id": "ses_1",\n'
            b'  "amount": 1.50,\n  "name": "\\u00e9",\n  "nested": {"b": [1, 2], "a": {}}\n}\n'
        )
        log.append(parse_events(raw))

        (record,) = log.read()

        assert record.delivered() == (
            b'{"id":"evt-1","type":"signin.session.created","organization_id":"org-1",'
            b'"context_id":"ctx-1","occurred_at":"2026-01-31T09:00:00Z","session_id":"ses_1",'
            b'"amount":1.50,"name":"\\u00e9","nested":{"b":[1,2],"a":{}},'
            + f'"sequence":{record.sequence},"recorded_at":"{record.recorded_at}"}}'.encode()
        )

    def test_bodies_and_sizes_read_for_delivery_are_the_records_delivered_bytes(self, log):
        raw = [
            b'{"type":"signin.session.created","organization_id":"org-1","context_id":"ctx-1",'
            b'"session_id":"ses_1","name":"caf\xc3\xa9 \\u00e9","nested":{"a":[1,2.50]}}',
            b'{ "id": "evt-2", "type": "signin.session.created", "organization_id": "org-1",'
            b' "context_id": "ctx-2", "occurred_at": "2026-01-31T09:00:00Z", "session_id": "s" }',
            b'{"id":"evt-3","type":"signin.session.created","organization_id":"org-2",'
            b'"context_id":"ctx-1","session_id":"ses_3","note":"\xe2\x9c\x93"}',
        ]
        log.append(parse_events(b"\n".join(raw)))
        records = list(log.read())
        sequences = [r.sequence for r in records]

        assert log.delivered(sequences[::-1]) == [r.delivered() for r in records[::-1]]
        by_context = {g.scope_id: g.columns() for g in log.routed(0, sequences[-1], "context")}
        assert by_context["ctx-1"] == (
            [sequences[0], sequences[2]],
            [records[0].delivered_size(), records[2].delivered_size()],
            [records[0].recorded_at, records[2].recorded_at],
            ["signin.session.created"] * 2,
        )
        assert [len(r.delivered()) for r in records] == [r.delivered_size() for r in records]
        by_org = {g.scope_id: g.columns()[0] for g in log.routed(0, sequences[-1], "organization")}
        assert by_org == {"org-1": sequences[:2], "org-2": sequences[2:]}

    def test_a_null_id_or_occurred_at_is_never_delivered_twice(self, log):
        try:
            log.append(parse_events(json.dumps(event(1, id=None, occurred_at=None)).encode()))
        except InvalidInput:
            return  # refusing the null is as good as assigning once
        (record,) = log.read()
        delivered = no_repeated_keys(record.delivered())
        assert delivered["id"] == record.id


class TestLog(LogContract):
    """The contract on each backend: a SQLite file, and a fresh PostgreSQL schema."""

    pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

    @pytest.fixture
    def log(self, database, clock) -> Iterator[EventLog]:
        store = Store(database, clock)
        yield store.log
        store.close()

    @pytest.fixture
    def other_log(self, database, clock, log) -> Iterator[EventLog]:
        store = Store(database, clock)
        yield store.log
        store.close()

    def delete_events(self, log: EventLog, sequences: list[int]) -> None:
        log.db.conn.executemany("DELETE FROM events WHERE sequence = ?", [(s,) for s in sequences])

    def fail_inserts_of(self, log: EventLog, event_id: str) -> type[Exception]:
        if log.db.kind == "postgres":
            log.db.conn.execute(
                "CREATE FUNCTION refuse_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                f" IF NEW.id = '{event_id}' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW;"
                " END $$"
            )
            log.db.conn.execute(
                "CREATE TRIGGER refuse_insert BEFORE INSERT ON events"
                " FOR EACH ROW EXECUTE FUNCTION refuse_insert()"
            )
            return psycopg.Error
        log.db.conn.execute(
            "CREATE TRIGGER refuse_insert BEFORE INSERT ON events"
            f" WHEN NEW.id = '{event_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
        return sqlite3.Error
