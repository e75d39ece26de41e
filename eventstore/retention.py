"""Retention: settled deliveries expire from the history, and the log may be compacted past a
horizon, but never past an event that a subscription not deleted has yet to settle."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from signin_webhooks.eventstore.deliveries import BatchSealed, DeliveriesExpired, DeliveryHistory
from signin_webhooks.eventstore.events import decode_internal
from signin_webhooks.eventstore.idempotency import IdempotencyKeys, IdempotencyKeysExpired
from signin_webhooks.eventstore.settings import InstallationSettings
from signin_webhooks.eventstore.stats import EventCounts, LogCompacted
from signin_webhooks.eventstore.store import Store
from signin_webhooks.eventstore.subscription_index import SubscriptionIndex
from signin_webhooks.eventstore.subscriptions import Subscriptions
from signin_webhooks.eventstore.times import format_time


@dataclass(frozen=True)
class RetentionReport:
    expired_deliveries: int
    settled_before: str
    compacted_events: int
    compacted_through: int | None  # None: log retention is off, or nothing may go yet
    expired_idempotency_keys: int = 0


def run_retention(store: Store, now: dt.datetime, *, dry_run: bool = False) -> RetentionReport:
    """Expire delivery records and idempotency keys, and compact the log, as the installation
    settings say; on PostgreSQL after any other worker's run in progress has ended."""
    with store.db.exclusive("retention"):
        return _run(store, now, dry_run=dry_run)


def retain_unless_running(store: Store, now: dt.datetime) -> RetentionReport | None:
    """A worker's timed run: None, and nothing done, while another worker's run is under way
    (each worker's timer fires; one at a time expires and compacts)."""
    with store.db.exclusive("retention", wait=False) as mine:
        return run_retention(store, now) if mine else None


def _run(store: Store, now: dt.datetime, *, dry_run: bool) -> RetentionReport:
    with store.errors():
        if not dry_run:
            destroy_unused_keys(store, now)
        settings = InstallationSettings.current(store.project(InstallationSettings()))
        conn = store.project(DeliveryHistory())
        settled_before = format_time(now - dt.timedelta(seconds=settings.delivery_retention))
        expired = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM deliveries WHERE settled_at IS NOT NULL AND settled_at < ?"
                " ORDER BY settled_at",
                [settled_before],
            )
        ]
        if expired and not dry_run:
            for i in range(0, len(expired), 10_000):
                chunk = expired[i : i + 10_000]
                store.log.append_internal(
                    [DeliveriesExpired(batch_ids=chunk, settled_before=settled_before)]
                )
            store.project(DeliveryHistory())
        keys = _expire_idempotency_keys(store, now, settings.idempotency_window, dry_run=dry_run)
        through = removed = None
        if settings.log_retention is not None:
            horizon = format_time(now - dt.timedelta(seconds=settings.log_retention))
            # A dry run counts as if the expiry above had happened, as the real run does.
            gone = set(expired) if dry_run else set()
            known = store.log.last_sequence()  # the boundary holds for the log up to here
            through = _compaction_boundary(store, horizon, gone)
            removed = _count(store, through) if through else 0
            if removed and not dry_run and not _compact(store, through, removed, known):
                through, removed = None, 0  # a batch sealed meanwhile: the next run decides
    return RetentionReport(len(expired), settled_before, removed or 0, through or None, keys)


def _expire_idempotency_keys(
    store: Store, now: dt.datetime, window: float, *, dry_run: bool
) -> int:
    """Drop the answers of claims older than the window: a retry after it is a new request."""
    claimed_before = format_time(now - dt.timedelta(seconds=window))
    count = IdempotencyKeys.count_before(store.project(IdempotencyKeys()), claimed_before)
    if count and not dry_run:
        store.log.append_internal(
            [IdempotencyKeysExpired(claimed_before=claimed_before, count=count)]
        )
        store.project(IdempotencyKeys())
    return count


def destroy_unused_keys(store: Store, now: dt.datetime) -> int:
    """Destroy the data keys of secrets whose grace is over, and of deleted subscriptions: what
    they sealed can no longer be read by anyone. Returns how many keys went."""
    subscriptions = Subscriptions.all(store.project(Subscriptions()), deleted=True)
    with store.db.write_transaction() as conn:
        return sum(
            store.keyring.shred(conn, sub.id, keep=sub.keys_in_use(now)) for sub in subscriptions
        )


def _compaction_boundary(store: Store, horizon: str, expiring: set[str]) -> int:
    """The last sequence compaction may remove: older than the horizon, and before every event
    still needed by a delivery in the history (but those `expiring`) or by a subscription not
    yet batched past it."""
    conn = store.project(Subscriptions())
    store.project(DeliveryHistory())
    row = conn.execute(
        "SELECT max(sequence) FROM events WHERE internal = 0 AND recorded_at < ?", [horizon]
    ).fetchone()
    limits = [row[0] or 0]
    limits += [first - 1 for first in _first_unbatched(store, limits[0]).values()]
    for delivery_id, state in conn.execute("SELECT id, state FROM deliveries"):
        if delivery_id in expiring:
            continue
        first = DeliveryHistory.decode(state).first_sequence
        if first:
            limits.append(first - 1)
    return min(limits)


def _first_unbatched(store: Store, horizon_sequence: int) -> dict[str, int]:
    """Per subscription, its first event not yet batched, up to `horizon_sequence`: one scan
    of the envelope columns. A subscription with none holds nothing back."""
    conn = store.db.conn
    subscriptions = Subscriptions.all(conn)
    after = DeliveryHistory.unbatched_after(conn, subscriptions)
    index = SubscriptionIndex()
    for sub in subscriptions:
        index.add(sub)
    first: dict[str, int] = {}
    rows = conn.execute(
        "SELECT sequence, type, organization_id, context_id FROM events"
        " WHERE internal = 0 AND sequence > ? AND sequence <= ? ORDER BY sequence",
        [min(after.values(), default=horizon_sequence), horizon_sequence],
    )
    for sequence, kind, organization, context in rows:
        for sub_id in index.taking(kind, organization, context):
            if sub_id not in first and sequence > after[sub_id]:
                first[sub_id] = sequence
        if len(first) == len(after):
            break
    return first


def _count(store: Store, through: int) -> int:
    return int(
        store.db.conn.execute(
            "SELECT count(*) FROM events WHERE internal = 0 AND sequence <= ?", [through]
        ).fetchone()[0]
    )


def _compact(store: Store, through: int, removed: int, known: int) -> bool:
    """Snapshot what a rebuild would lose, then delete, in one transaction; unless an operator's
    `recover` sealed a batch since the boundary was worked out (`known`): it may hold events
    below it. (Scheduled batches only take events past every subscription's position.)"""
    counts = EventCounts()
    store.project(counts)
    with store.db.write_transaction() as conn:
        sealed = conn.execute(
            "SELECT body FROM events WHERE sequence > ? AND internal = 1 AND type = ?",
            [known, BatchSealed.type_name()],
        ).fetchall()
        seals = (decode_internal(body) for (body,) in sealed)
        if any(seal.trigger == "recover" for seal in seals):  # type: ignore[attr-defined]  # seals
            return False
        after = store.projector.checkpoint(counts)
        pending = list(store.log.read(after, signin=True, internal=True))
        if pending:
            counts.apply(conn, pending)
        snapshot = EventCounts.snapshot(conn)
        store.log.append_internal(
            [LogCompacted(through_sequence=through, removed=removed, event_counts=snapshot)],
            conn,
        )
        conn.execute("DELETE FROM events WHERE internal = 0 AND sequence <= ?", [through])
        if pending:
            conn.execute(
                "UPDATE projections SET sequence = ? WHERE name = ?",
                [pending[-1].sequence, counts.name],
            )
    return True
