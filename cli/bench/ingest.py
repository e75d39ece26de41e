"""ingest-bulk and ingest-single: events per second into the log through the Python API, beside
the raw driver (sqlite3 executemany, or psycopg COPY) inserting the same rows into a table with the
same columns, indexes and settings."""

from __future__ import annotations

import functools
from typing import Any

import msgspec

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places, RawLog
from signin_webhooks.cli.bench.rows import Row, row, timed
from signin_webhooks.cli.samples import sample_events
from signin_webhooks.eventstore import EventLog, parse_events, read_events
from signin_webhooks.eventstore.ids import new_ids

ROUNDS = 3


def _rows(lines: list[bytes]) -> list[tuple[object, ...]]:
    """The rows the log writes for these events, ids and times included."""
    parsed = parse_events(b"\n".join(lines))
    ids = new_ids(len(parsed))
    now = "2026-01-01T00:00:00.000000Z"
    return [(i, p.type, p.organization_id, p.context_id, now, now, 3, 0, p.body)
            for i, p in zip(ids, parsed, strict=True)]  # fmt: skip


def ingest_bulk(places: Places, n: int, rounds: int = ROUNDS) -> list[Row]:
    """`publish` as it runs (validating in a second process while it inserts), and validating
    in its own process, beside raw `executemany`."""
    lines = [msgspec.json.encode(e) for e in sample_events(n, contexts=["ctx_a", "ctx_b"])]
    rows = _rows(lines)
    data = b"\n".join(lines)
    ours, alone, base = [], [], []
    for i in range(rounds):  # alternating, each on a fresh database; the best of each counts
        raw = RawLog(places.new(f"bulk-baseline-{i}.db"))

        def baseline(raw: RawLog = raw) -> None:
            raw.insert(rows)

        with WebhookSystem(places.new(f"bulk-{i}.db"), deliver=False) as system:
            ours.append(timed(functools.partial(system.publish, data)))
        with WebhookSystem(places.new(f"bulk-alone-{i}.db"), deliver=False) as system:
            log = system.store.log

            def append_alone(log: EventLog = log) -> None:
                log.append_chunks(read_events(data, aside=False))

            alone.append(timed(append_alone))
        base.append(timed(baseline))
        raw.close()
    size = sum(map(len, lines)) // n
    how = "COPY" if places.kind == "postgres" else "executemany"
    note = f"{n} events of ~{size} B, one call; baseline {how}; best of {rounds}"
    return [
        row("ingest-bulk", n / min(ours), "events/s", n / min(base), note),
        row("ingest-bulk-one-process", n / min(alone), "events/s", n / min(base),
            note + "; validated in the publishing process"),
    ]  # fmt: skip


def _publish_each(system: WebhookSystem, events: list[dict[str, Any]]) -> None:
    for event in events:
        system.publish(event)


def ingest_single(places: Places, n: int, rounds: int = ROUNDS) -> Row:
    events = sample_events(n, contexts=["ctx_a"])
    rows = _rows([msgspec.json.encode(e) for e in events])
    ours, base = [], []
    for i in range(rounds):
        raw = RawLog(places.new(f"single-baseline-{i}.db"))

        def baseline(raw: RawLog = raw) -> None:
            raw.insert_each(rows)

        with WebhookSystem(places.new(f"single-{i}.db"), deliver=False) as system:
            ours.append(timed(functools.partial(_publish_each, system, events)))
        base.append(timed(baseline))
        raw.close()
    note = f"{n} calls of one event; best of {rounds}"
    return row("ingest-single", n / min(ours), "events/s", n / min(base), note)
