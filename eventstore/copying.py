"""Copying a log between backends (a SQLite file and a PostgreSQL database, either way): every row
with its sequence and bytes as they are, in one transaction on the destination, then the
projections rebuilt there from the copy. A copy of a copy replays identically."""

from __future__ import annotations

from dataclasses import dataclass

from signin_webhooks.eventstore.deliveries import DeliveryHistory
from signin_webhooks.eventstore.errors import InvalidInput
from signin_webhooks.eventstore.notifications import PendingNotifications
from signin_webhooks.eventstore.settings import InstallationSettings
from signin_webhooks.eventstore.stats import EventCounts
from signin_webhooks.eventstore.store import Store
from signin_webhooks.eventstore.subscriptions import Subscriptions

PAGE = 5000
PROJECTIONS = (
    Subscriptions,
    DeliveryHistory,
    InstallationSettings,
    EventCounts,
    PendingNotifications,
)


@dataclass(frozen=True)
class Copied:
    events: int
    last_sequence: int


def copy_log(source: Store, destination: Store) -> Copied:
    """Copy `source`'s log into `destination`, which must hold none yet. The source is read in
    one snapshot: what is appended, expired or compacted there meanwhile leaves the copy as it
    was at its start, the log and the data keys of one moment."""
    with destination.errors():
        if destination.log.last_sequence():
            raise InvalidInput(
                f"'{destination.db.location}' already holds a log (up to sequence"
                f" {destination.log.last_sequence()}); copy into an empty database"
            )
    copied = 0
    with source.errors(), source.db.snapshot():
        last = source.log.last_sequence()
        with destination.errors(), destination.db.write_transaction() as conn:
            after = 0
            while after < last:
                with source.errors():
                    records = list(source.log.read(after, signin=True, internal=True, limit=PAGE))
                rows = [
                    (r.sequence, r.id, r.type, r.organization_id, r.context_id, r.occurred_at,
                     r.recorded_at, r.assigned, int(r.internal), r.body)
                    for r in records
                ]  # fmt: skip
                destination.db.copy_events(conn, rows)
                copied += len(rows)
                if len(records) < PAGE:
                    break
                after = records[-1].sequence
            destination.db.set_head(conn, last)
            with source.errors():
                keys = source.keyring.wrapped_keys()
            destination.keyring.add_wrapped_keys(conn, keys)  # sealed under the same key
    with destination.errors():
        for projection in PROJECTIONS:
            destination.projector.rebuild(projection())
    return Copied(copied, last)
