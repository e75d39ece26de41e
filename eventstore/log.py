"""The append-only event log: the single source of truth, in one table of SQLite or PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from signin_webhooks.eventstore.catalogue import Published, same_content
from signin_webhooks.eventstore.database import EVENTS
from signin_webhooks.eventstore.database import INSERT as EVENT_INSERT
from signin_webhooks.eventstore.errors import Conflict, InvalidInput
from signin_webhooks.eventstore.events import InternalEvent, decode_internal, encode_internal
from signin_webhooks.eventstore.ids import new_ids
from signin_webhooks.eventstore.times import format_time, utc_now

if TYPE_CHECKING:
    from signin_webhooks.eventstore.database import Appending, Database

SCHEMA, INSERT = EVENTS, EVENT_INSERT  # the SQLite forms, shared with the bench baseline
_COLUMNS = (
    "sequence, id, type, organization_id, context_id, occurred_at, recorded_at, assigned, internal,"
    " body"
)
_LAST_RECORDED_AT = "SELECT recorded_at FROM events ORDER BY sequence DESC LIMIT 1"
_ID_ASSIGNED, _OCCURRED_AT_ASSIGNED = 1, 2
# Record.delivered_size() in SQL, so that routing never reads a Sign In event's body.
_DELIVERED_SIZE = (
    "length(body) + length(CAST(sequence AS TEXT)) + length(recorded_at) + 29"
    " + CASE WHEN (assigned & 1) = 1 THEN length(id) + 8 ELSE 0 END"
    " + CASE WHEN (assigned & 2) = 2 AND occurred_at IS NOT NULL"
    " THEN length(occurred_at) + 17 ELSE 0 END"
)
_SCOPE_COLUMNS = {"context": "context_id", "organization": "organization_id"}
# `_delivered` in SQL, for bodies built by the database: the object as published without its
# closing brace (`_DELIVERED_HEAD`), then the fields the log assigned (`_DELIVERED_TAIL`, text).
_DELIVERED_HEAD = "substr(body, 1, length(body) - 1)"
_DELIVERED_TAIL = (
    "CASE WHEN (assigned & 1) = 1 THEN ',\"id\":\"' || id || '\"' ELSE '' END"
    " || CASE WHEN (assigned & 2) = 2 THEN ',\"occurred_at\":\"' || occurred_at || '\"' ELSE '' END"
    " || ',\"sequence\":' || sequence || ',\"recorded_at\":\"' || recorded_at || '\"}'"
)
_LOOKUP_CHUNK = 500


def _delivered(
    sequence: int,
    event_id: str,
    occurred_at: str | None,
    recorded_at: str,
    assigned: int,
    body: bytes,
) -> bytes:
    """An event's body as delivered: as published, with the fields the log assigned added."""
    tail = f',"sequence":{sequence},"recorded_at":"{recorded_at}"}}'
    if assigned & _OCCURRED_AT_ASSIGNED:
        tail = f',"occurred_at":"{occurred_at}"{tail}'
    if assigned & _ID_ASSIGNED:
        tail = f',"id":"{event_id}"{tail}'
    return body[:-1] + tail.encode()


@dataclass(frozen=True, slots=True)
class Record:
    """One row of the log."""

    sequence: int
    id: str
    type: str
    organization_id: str | None
    context_id: str | None
    occurred_at: str | None
    recorded_at: str
    assigned: int
    internal: bool
    body: bytes

    def delivered(self) -> bytes:
        """The object as published, with the fields the log assigned added at the end."""
        return self._with_assigned(self.body)

    def replayed(self) -> bytes:
        """The line `replay` prints: internal events have their secrets redacted."""
        if not self.internal:
            return self.delivered()
        return self._with_assigned(encode_internal(decode_internal(self.body).redacted()))

    def delivered_size(self) -> int:
        """len(self.delivered()), without building it: the router sizes every batch with it."""
        size = len(self.body) + len(str(self.sequence)) + len(self.recorded_at) + 29
        if self.assigned & _ID_ASSIGNED:
            size += len(self.id) + 8
        if self.assigned & _OCCURRED_AT_ASSIGNED and self.occurred_at is not None:
            size += len(self.occurred_at) + 17
        return size

    def _with_assigned(self, body: bytes) -> bytes:
        return _delivered(self.sequence, self.id, self.occurred_at, self.recorded_at,
                          self.assigned, body)  # fmt: skip

    def event(self) -> InternalEvent:
        """The typed internal event this record holds."""
        return decode_internal(self.body)


class Routed(NamedTuple):
    """The Sign In events of one context or organization in a stretch of the log, as routing
    reads them: in the order of the log, each column as comma-separated text (`split` them)."""

    scope_id: str
    sequences: str
    sizes: str  # as delivered (`Record.delivered_size`)
    recorded_at: str
    types: str

    def columns(self) -> tuple[list[int], list[int], list[str], list[str]]:
        """Sequences, delivered sizes, recorded_at and types, in the order of the log."""
        sequences = list(map(int, self.sequences.split(",")))
        sizes = list(map(int, self.sizes.split(",")))
        recorded_at, types = self.recorded_at.split(","), self.types.split(",")
        if sequences != sorted(sequences):  # SQLite reads in the log's order, unpromised
            rows = sorted(zip(sequences, sizes, recorded_at, types, strict=True))
            return (
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
            )
        return sequences, sizes, recorded_at, types


@dataclass(frozen=True, slots=True)
class AppendResult:
    appended: int
    duplicates: int
    first_sequence: int | None
    last_sequence: int | None


@dataclass(frozen=True, slots=True)
class Filter:
    """Which Sign In events a read returns; windows are on `recorded_at`, until excluded."""

    types: tuple[str, ...] = ()
    organization: str | None = None
    context: str | None = None
    since: str | None = None
    until: str | None = None

    def sql(self, db: Database) -> tuple[str, list[object]]:
        where: list[str] = []
        args: list[object] = []
        if self.types:
            where.append("(" + " OR ".join(db.glob("type") for _ in self.types) + ")")
            args += [db.glob_arg(t) for t in self.types]
        for clause, value in (
            ("organization_id = ?", self.organization),
            ("context_id = ?", self.context),
            ("recorded_at >= ?", self.since),
            ("recorded_at < ?", self.until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        return "".join(f" AND {w}" for w in where), args


class EventLog:
    """Appends events all-or-none and reads them back in order, streamed in pages."""

    def __init__(self, db: Database, clock: Callable[[], dt.datetime] = utc_now):
        self.db = db
        self.clock = clock
        db.create_schema(db.events_schema())

    def append(self, events: Sequence[Published]) -> AppendResult:
        """Append Sign In events in one transaction; a repeated id with the same content is a
        duplicate, with other content an error that appends nothing."""
        return self.append_chunks([events])

    def append_chunks(self, chunks: Iterable[Sequence[Published]]) -> AppendResult:
        """Append every chunk in one transaction, inserting each before the next is taken, so
        that memory holds one chunk however long the input. The write lock is taken once the
        first chunk is ready; an error raised by `chunks` rolls back every chunk before it."""
        chunks = iter(chunks)
        first = next(chunks, None)
        if first is None:
            return AppendResult(0, 0, None, None)
        appended = duplicates = 0
        first_sequence = last_sequence = None
        with self.db.write_transaction() as conn, self.db.appending(conn) as appender:
            recorded_at = self._recorded_at(conn)
            for events in itertools.chain([first], chunks):
                rows, repeated = self._rows(events, recorded_at, appender)
                duplicates += repeated
                if rows:
                    last_sequence = appender.insert(rows)
                    first_sequence = first_sequence or last_sequence - len(rows) + 1
                    appended += len(rows)
        return AppendResult(appended, duplicates, first_sequence, last_sequence)

    def append_each(self, calls: Sequence[Sequence[Published]]) -> list[AppendResult]:
        """The events of several publish calls in one transaction, one commit for them all,
        each call with its own report, as if appended one after the other. An event clashing
        with one already in the log refuses them all: append such calls one by one."""
        results = []
        with self.db.write_transaction() as conn, self.db.appending(conn) as appender:
            recorded_at = format_time(self.clock())  # under the lock: never earlier than before
            for events in calls:
                rows, duplicates = self._rows(events, recorded_at, appender)
                if not rows:
                    results.append(AppendResult(0, duplicates, None, None))
                    continue
                last = appender.insert(rows)
                results.append(AppendResult(len(rows), duplicates, last - len(rows) + 1, last))
        return results

    def _rows(
        self, events: Sequence[Published], recorded_at: str, appender: Appending
    ) -> tuple[list[tuple[object, ...]], int]:
        """The rows to insert for one chunk, and how many of its events are duplicates; ids
        are looked up in the log, which holds the call's earlier chunks too."""
        fresh = iter(new_ids(sum(1 for e in events if e.id is None)))
        known = appender.bodies([e.id for e in events if e.id is not None])
        rows: list[tuple[object, ...]] = []
        duplicates = 0
        for event in events:
            assigned = 0
            event_id = event.id
            if event_id is None:
                event_id, assigned = next(fresh), _ID_ASSIGNED
            elif event_id in known:
                if not same_content(known[event_id], event.body):
                    raise InvalidInput(
                        f"{event.where}: id '{event_id}' is already in the log with other"
                        " content; give this event a new id"
                    )
                duplicates += 1
                continue
            else:
                known[event_id] = event.body
            occurred_at = event.occurred_at
            if occurred_at is None:
                occurred_at, assigned = recorded_at, assigned | _OCCURRED_AT_ASSIGNED
            rows.append((
                event_id, event.type, event.organization_id, event.context_id,
                occurred_at, recorded_at, assigned, 0, event.body,
            ))  # fmt: skip
        return rows, duplicates

    def append_internal(
        self,
        events: Sequence[InternalEvent],
        conn: Any = None,
        *,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Append the system's own facts in one transaction (or in the caller's, given its
        connection); returns the last sequence: they are numbered consecutively up to it. `ids`:
        the events' ids, where the log's unique ids must refuse a second append (an id already
        taken raises Conflict)."""
        bodies = [(event.type_name(), encode_internal(event)) for event in events]
        chosen = ids is not None
        ids = new_ids(len(events)) if ids is None else list(ids)

        def insert(conn: Any) -> int:
            recorded_at = self._recorded_at(conn)
            return self.db.insert_events(conn, [
                (event_id, kind, None, None, recorded_at, recorded_at, _ID_ASSIGNED, 1, body)
                for event_id, (kind, body) in zip(ids, bodies, strict=True)
            ])  # fmt: skip

        try:
            if conn is not None:
                return insert(conn)
            with self.db.write_transaction() as conn:
                return insert(conn)
        except Exception as e:
            # sqlite3.IntegrityError, or psycopg's IntegrityError (UniqueViolation) on PostgreSQL
            if chosen and any(c.__name__ == "IntegrityError" for c in type(e).__mro__):
                raise Conflict(
                    f"an event with one of the ids {ids} is already in the log"
                ) from None
            raise

    def _recorded_at(self, conn: Any) -> str:
        """Now, or the previous event's time if the wall clock stepped back since: `recorded_at`
        never goes backwards against `sequence`, so a window on it skips no event. Taken under
        the write lock, so no other append can come between."""
        now = format_time(self.clock())
        last = conn.execute(_LAST_RECORDED_AT).fetchone()
        return now if last is None or last[0] < now else last[0]

    def read(
        self,
        after: int = 0,
        *,
        filter: Filter = Filter(),
        signin: bool = True,
        internal: bool = False,
        limit: int | None = None,
        page: int = 1000,
    ) -> Iterator[Record]:
        """Records after sequence `after`, oldest first, read a page at a time so that memory
        stays flat however long the log is."""
        if not (signin or internal):
            return
        kind = "" if signin and internal else f" AND internal = {int(internal)}"
        clauses, args = filter.sql(self.db)
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE sequence > ?{kind}{clauses}"
            " ORDER BY sequence LIMIT ?"
        )
        remaining = limit
        while remaining is None or remaining > 0:
            size = page if remaining is None else min(page, remaining)
            rows = self.db.conn.execute(sql, [after, *args, size]).fetchall()
            for row in rows:
                yield Record(*row)
            if len(rows) < size:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def routed(self, after: int, end: int, scope: str) -> list[Routed]:
        """The Sign In events in (after, end] grouped by their context or organization (the
        `scope`), without a row or a body per event: the database does the reading."""
        column = _SCOPE_COLUMNS[scope]
        joined = self.db.joined
        sql = (
            f"SELECT {column}, {joined('sequence')}, {joined(_DELIVERED_SIZE)},"
            f" {joined('recorded_at')}, {joined('type')} FROM events"
            f" WHERE sequence > ? AND sequence <= ? AND internal = 0 AND {column} IS NOT NULL"
            f" GROUP BY {column}"
        )
        return [Routed(*row) for row in self.db.conn.execute(sql, [after, end])]

    def facts(self, after: int, end: int, types: Iterable[str]) -> list[Record]:
        """The system's own facts of these types in (after, end], oldest first."""
        types = list(types)
        sql = (
            f"SELECT {_COLUMNS} FROM events WHERE internal = 1 AND sequence > ? AND sequence <= ?"
            f" AND type IN ({','.join('?' * len(types))}) ORDER BY sequence"
        )
        return [Record(*row) for row in self.db.conn.execute(sql, [after, end, *types])]

    def delivered(self, sequences: Sequence[int]) -> list[bytes]:
        """The events at these sequences as delivered (`Record.delivered`), in the order given;
        those no longer in the log are left out."""
        found: dict[int, bytes] = {}
        body = self.db.with_text(_DELIVERED_HEAD, _DELIVERED_TAIL)
        for i in range(0, len(sequences), _LOOKUP_CHUNK):
            chunk = sequences[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT sequence, {body} FROM events WHERE sequence IN ({marks})"
            found.update(self.db.conn.execute(sql, chunk))
        return [found[s] for s in sequences if s in found]

    def read_sequences(self, sequences: Sequence[int]) -> list[Record]:
        """The records at these sequences, in the order given."""
        found: dict[int, Record] = {}
        for i in range(0, len(sequences), _LOOKUP_CHUNK):
            chunk = sequences[i : i + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT {_COLUMNS} FROM events WHERE sequence IN ({marks})"
            for row in self.db.conn.execute(sql, chunk):
                found[row[0]] = Record(*row)
        return [found[s] for s in sequences if s in found]

    def recorded(self, event_id: str) -> int | None:
        """The sequence of the event with this id, Sign In or the system's own, if the log
        holds it: whether an append whose commit went unanswered was made."""
        row = self.db.conn.execute("SELECT sequence FROM events WHERE id = ?", [event_id])
        found = row.fetchone()
        return found[0] if found else None

    def sequence_of(self, event_id: str) -> int | None:
        """The sequence of the Sign In event with this id, if the log holds it."""
        row = self.db.conn.execute(
            "SELECT sequence FROM events WHERE id = ? AND internal = 0", [event_id]
        ).fetchone()
        return row[0] if row else None

    def holds_id(self, event_id: str) -> bool:
        """Whether any event in the log, a Sign In event or one of the system's own, has this id."""
        row = self.db.conn.execute("SELECT 1 FROM events WHERE id = ?", [event_id]).fetchone()
        return row is not None

    def last_sequence(self) -> int:
        """The highest sequence ever handed out (rows deleted since included)."""
        return self.db.last_sequence()

    def data_version(self) -> int:
        """Changes whenever another connection commits: a cheap way to notice new events."""
        return self.db.data_version()
