"""Deliveries: the facts of batching and delivery, and the history projection built from them.

A delivery is a sealed batch: the events it holds (as sequence ranges), and every attempt to
POST it. Its body is not stored: the log rebuilds it byte for byte from those sequences (a test
delivery, whose synthetic event is not in the log, keeps its body in its seal).
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Iterable, Iterator
from itertools import compress
from typing import Any

import msgspec

from signin_webhooks.eventstore.errors import NotFound
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection
from signin_webhooks.eventstore.statuses import SETTLED, DeliveryStatus, Trigger
from signin_webhooks.eventstore.subscriptions import Subscription


class BatchSealed(InternalEvent, frozen=True, tag="batch.sealed"):
    """A batch closed: these events, in this order, framed this way, are one delivery."""

    batch_id: str
    subscription_id: str
    ranges: list[tuple[int, int]]  # (first sequence, how many consecutive)
    count: int
    bytes: int
    ndjson: bool
    trigger: Trigger = "schedule"  # typed: see eventstore/statuses.py
    body: str | None = None  # test deliveries only

    @property
    def first_sequence(self) -> int:
        return self.ranges[0][0] if self.ranges else 0

    @property
    def last_sequence(self) -> int:
        return self.ranges[-1][0] + self.ranges[-1][1] - 1 if self.ranges else 0


class AttemptRecorded(InternalEvent, frozen=True, tag="attempt.recorded"):
    """One POST of a delivery and what came back; `outcome` is the delivery's status after it."""

    batch_id: str
    subscription_id: str
    attempt: int
    trigger: Trigger  # typed, as `outcome` is: see eventstore/statuses.py
    started_at: str
    duration: float
    url: str
    request_headers: dict[str, str]
    status: int | None
    response_headers: dict[str, str]
    response_body: str
    error_kind: str | None
    error: str | None
    outcome: DeliveryStatus
    next_attempt_at: str | None = None


class BatchCancelled(InternalEvent, frozen=True, tag="batch.cancelled"):
    batch_id: str
    subscription_id: str
    reason: str


class RetryRequested(InternalEvent, frozen=True, tag="delivery.retry_requested"):
    """An operator asked to send a delivery again: a new series of attempts, same webhook-id."""

    batch_id: str
    subscription_id: str


class DeliveriesExpired(InternalEvent, frozen=True, tag="deliveries.expired"):
    """Retention removed these settled deliveries from the history."""

    batch_ids: list[str]
    settled_before: str


def body_size(count: int, sizes: int, ndjson: bool) -> int:
    """The bytes of a body holding `count` events of `sizes` bytes in all: a JSON array's
    brackets and commas, or NDJSON's newlines."""
    return sizes + (count if ndjson else count + 1)


def pack(
    entries: Iterable[tuple[int, int]], *, max_events: int, max_bytes: int, ndjson: bool
) -> Iterator[tuple[list[int], int]]:
    """Cut (sequence, size) entries into batches within the limits: (sequences, body bytes).
    An event larger than max_bytes alone still makes a batch of one."""
    batch: list[int] = []
    sizes = 0
    for sequence, size in entries:
        if batch and body_size(len(batch) + 1, sizes + size, ndjson) > max_bytes:
            yield batch, body_size(len(batch), sizes, ndjson)
            batch, sizes = [], 0
        batch.append(sequence)
        sizes += size
        if len(batch) >= max_events:
            yield batch, body_size(len(batch), sizes, ndjson)
            batch, sizes = [], 0
    if batch:
        yield batch, body_size(len(batch), sizes, ndjson)


def to_ranges(sequences: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive runs, so a batch of a busy context's events records in a few numbers. The
    sequences are ascending; a run starts wherever one is not the one before it plus one."""
    seqs = list(sequences)
    if not seqs:
        return []
    follows = map(operator.ne, seqs[1:], map((1).__add__, seqs))
    starts = [0, *compress(range(1, len(seqs)), follows)]
    lengths = map(operator.sub, [*starts[1:], len(seqs)], starts)
    return list(zip(map(seqs.__getitem__, starts), lengths, strict=True))


class Delivery(msgspec.Struct, kw_only=True):
    """One row of delivery history."""

    id: str
    subscription_id: str
    status: DeliveryStatus
    trigger: Trigger  # its seal's
    count: int
    bytes: int
    first_sequence: int
    last_sequence: int
    ndjson: bool
    ranges: list[tuple[int, int]]
    sealed_at: str
    sealed_sequence: int
    settled_at: str | None = None
    next_attempt_at: str | None = None
    attempts: int = 0
    series_start: int = 1  # the attempt that began the current series (a retry starts one)
    body: str | None = None

    def holds(self, sequence: int) -> bool:
        return any(first <= sequence < first + n for first, n in self.ranges)

    def sequences(self) -> Iterator[int]:
        for first, n in self.ranges:
            yield from range(first, first + n)

    def evolve(self, event: AttemptRecorded | BatchCancelled | RetryRequested, at: str) -> None:
        """The delivery after one of its facts, recorded at `at`: the whole of a delivery's
        behaviour over time, for the history and the batcher alike."""
        match event:
            case AttemptRecorded():
                self.attempts = max(self.attempts, event.attempt)
                self.status = event.outcome
                self.next_attempt_at = event.next_attempt_at
            case BatchCancelled():
                self.status = "cancelled"
                self.next_attempt_at = None
            case RetryRequested():  # a new series of attempts, after those made so far
                self.status = "pending"
                self.settled_at = self.next_attempt_at = None
                self.series_start = self.attempts + 1
        if self.status in SETTLED and self.settled_at is None:
            self.settled_at = at

    @classmethod
    def from_seal(cls, event: BatchSealed, sequence: int, sealed_at: str) -> Delivery:
        """A delivery as its seal makes it: pending, no attempt yet."""
        return cls(
            id=event.batch_id,
            subscription_id=event.subscription_id,
            status="pending",
            trigger=event.trigger,
            count=event.count,
            bytes=event.bytes,
            first_sequence=event.first_sequence,
            last_sequence=event.last_sequence,
            ndjson=event.ndjson,
            ranges=event.ranges,
            sealed_at=sealed_at,
            sealed_sequence=sequence,
            body=event.body,
        )


_TAGS = {
    cls.type_name()
    for cls in (BatchSealed, AttemptRecorded, BatchCancelled, RetryRequested, DeliveriesExpired)
}


class _Place(msgspec.Struct):
    """Of a delivery's state, what orders it among its subscription's."""

    id: str
    sealed_sequence: int


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Delivery).decode
_place = msgspec.json.Decoder(_Place).decode
_attempt = msgspec.json.Decoder(AttemptRecorded).decode


class DeliveryHistory(Projection):
    """Every delivery and its attempts, kept from the log's batch and attempt events."""

    name = "deliveries"
    tables = ("deliveries", "attempts", "batch_positions")
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS deliveries (
        id TEXT PRIMARY KEY,
        subscription_id TEXT NOT NULL,
        status TEXT NOT NULL,
        sealed_at TEXT NOT NULL,
        settled_at TEXT,
        state BLOB NOT NULL
    );
    CREATE INDEX IF NOT EXISTS deliveries_subscription ON deliveries (subscription_id, status);
    CREATE INDEX IF NOT EXISTS deliveries_settled ON deliveries (settled_at);
    CREATE TABLE IF NOT EXISTS batch_positions (
        subscription_id TEXT PRIMARY KEY,
        last_sequence INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS attempts (
        delivery_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        sequence INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (delivery_id, sequence)
    );
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        changed: dict[str, Delivery] = {}
        positions: dict[str, int] = {}
        attempts = []
        expired: list[str] = []
        for record in records:
            if record.type not in _TAGS:
                continue
            event = record.event()
            if isinstance(event, BatchSealed):
                changed[event.batch_id] = Delivery.from_seal(
                    event, record.sequence, record.recorded_at
                )
                if event.trigger == "schedule":
                    positions[event.subscription_id] = changed[event.batch_id].last_sequence
                continue
            if isinstance(event, DeliveriesExpired):
                expired.extend(event.batch_ids)
                for batch_id in event.batch_ids:
                    changed.pop(batch_id, None)
                continue
            batch_id = event.batch_id  # type: ignore[attr-defined]  # each fact left names its batch
            delivery = changed.get(batch_id) or self.get(conn, batch_id)
            if delivery is None:  # expired by retention before this event: nothing to keep
                continue
            if isinstance(event, AttemptRecorded):
                attempts.append((event.batch_id, event.attempt, record.sequence, record.body))
            delivery.evolve(event, record.recorded_at)  # type: ignore[arg-type]  # a delivery fact
            changed[delivery.id] = delivery
        gone = set(expired)
        for batch_id in gone:
            conn.execute("DELETE FROM deliveries WHERE id = ?", [batch_id])
            conn.execute("DELETE FROM attempts WHERE delivery_id = ?", [batch_id])
        attempts = [a for a in attempts if a[0] not in gone]
        conn.executemany(
            "INSERT INTO deliveries (id, subscription_id, status, sealed_at, settled_at, state)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
            " subscription_id = excluded.subscription_id, status = excluded.status,"
            " sealed_at = excluded.sealed_at, settled_at = excluded.settled_at,"
            " state = excluded.state",
            [
                (d.id, d.subscription_id, d.status, d.sealed_at, d.settled_at, _encode(d))
                for d in changed.values()
            ],
        )
        conn.executemany(
            "INSERT INTO batch_positions (subscription_id, last_sequence) VALUES (?, ?)"
            " ON CONFLICT (subscription_id) DO UPDATE SET last_sequence = CASE"
            " WHEN excluded.last_sequence > batch_positions.last_sequence"
            " THEN excluded.last_sequence ELSE batch_positions.last_sequence END",
            list(positions.items()),
        )
        conn.executemany(
            "INSERT INTO attempts (delivery_id, number, sequence, body) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (delivery_id, sequence) DO UPDATE SET number = excluded.number,"
            " body = excluded.body",
            attempts,
        )

    @staticmethod
    def decode(state: bytes) -> Delivery:
        return _decode(state)

    @staticmethod
    def get(conn: Any, delivery_id: str) -> Delivery | None:
        row = conn.execute("SELECT state FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
        return _decode(row[0]) if row else None

    @staticmethod
    def newest(
        conn: Any,
        *,
        subscription_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        subscription_ids: Collection[str] | None = None,
        since: str | None = None,
        until: str | None = None,
        delivery_id: str | None = None,
        holding: int | None = None,
        before: tuple[str, str] | None = None,
    ) -> list[Delivery]:
        """Deliveries newest first: of one subscription, or of those in `subscription_ids`; in
        one status; sealed in [since, until); with one id; holding the event at sequence
        `holding`; strictly after the (sealed_at, id) key `before` in that order, which a page
        ended on and which stays valid while more are sealed."""
        where: list[str] = []
        args: list[object] = []
        if subscription_ids is not None:
            ids = list(subscription_ids)
            if not ids:
                return []
            where.append(f"subscription_id IN ({', '.join('?' * len(ids))})")
            args += ids
        for clause, value in (
            ("subscription_id = ?", subscription_id),
            ("id = ?", delivery_id),
            ("status = ?", status),
            ("sealed_at >= ?", since),
            ("sealed_at < ?", until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = "SELECT sealed_at, id, state FROM deliveries WHERE 1 = 1" + "".join(
            f" AND {w}" for w in where
        )
        found: list[Delivery] = []
        page = limit if holding is None else 500
        while len(found) < limit:
            keyed = sql + (" AND (sealed_at < ? OR (sealed_at = ? AND id < ?))" if before else "")
            extra = [before[0], before[0], before[1]] if before else []
            rows = conn.execute(
                keyed + " ORDER BY sealed_at DESC, id DESC LIMIT ?", [*args, *extra, page]
            ).fetchall()
            for row in rows:
                delivery = _decode(row[2])
                if holding is None or delivery.holds(holding):
                    found.append(delivery)
            if len(rows) < page:
                break
            before = (rows[-1][0], rows[-1][1])
        return found[:limit]

    @staticmethod
    def unsettled(conn: Any, subscription_id: str) -> list[Delivery]:
        """Pending and retrying deliveries of one subscription, in the order they go out. A
        test is left out: the process that sealed it sends it, once, outside the batches."""
        rows = conn.execute(
            "SELECT state FROM deliveries WHERE subscription_id = ?"
            " AND status IN ('pending', 'retrying')",
            [subscription_id],
        )
        found = (_decode(row[0]) for row in rows)
        return sorted((d for d in found if d.trigger != "test"), key=lambda d: d.sealed_sequence)

    @staticmethod
    def next_unsettled(
        conn: Any, subscription_id: str, known: Collection[str], limit: int
    ) -> tuple[list[Delivery], bool]:
        """The first `limit` of `unsettled` but those in `known`, and whether more wait behind
        them: each row is read for its place in the order, and decoded whole only if taken."""
        rows = conn.execute(
            "SELECT state FROM deliveries WHERE subscription_id = ?"
            " AND status IN ('pending', 'retrying')",
            [subscription_id],
        )
        placed = []
        for (state,) in rows:
            place = _place(state)
            if place.id not in known:
                placed.append((place.sealed_sequence, state))
        placed.sort(key=lambda p: p[0])
        return [_decode(state) for _, state in placed[:limit]], len(placed) > limit

    @staticmethod
    def failed(conn: Any, subscription_id: str) -> int:
        """Deliveries of one subscription that failed for good (tests left out), still in the
        history: not in its backlog any more, and not delivered either."""
        rows = conn.execute(
            "SELECT state FROM deliveries WHERE subscription_id = ? AND status = 'failed'",
            [subscription_id],
        )
        return sum(_decode(row[0]).trigger != "test" for row in rows)

    @staticmethod
    def batched_positions(conn: Any) -> dict[str, int]:
        """Per subscription, the last sequence sealed into a scheduled batch; kept for good,
        so that retention of old deliveries never makes their events look unbatched."""
        return dict(conn.execute("SELECT subscription_id, last_sequence FROM batch_positions"))

    @staticmethod
    def unbatched_after(conn: Any, subscriptions: Iterable[Subscription]) -> dict[str, int]:
        """Per subscription, the sequence after which its events are still to be batched: past
        its last scheduled batch, and past where it was created or enabled `--from-now`."""
        positions = DeliveryHistory.batched_positions(conn)
        return {sub.id: max(sub.start_after, positions.get(sub.id, 0)) for sub in subscriptions}

    @staticmethod
    def attempts(conn: Any, delivery_id: str) -> list[AttemptRecorded]:
        rows = conn.execute(
            "SELECT body FROM attempts WHERE delivery_id = ? ORDER BY sequence", [delivery_id]
        )
        return [_attempt(row[0]) for row in rows]


def unknown_delivery(delivery_id: str) -> NotFound:
    """The refusal of an id that names no delivery (or none the asker may see)."""
    return NotFound(
        f"no delivery {delivery_id!r} (expired after the retention period, or never made);"
        " `«deliveries.list()»` shows the ids"
    )
