"""Managing subscriptions: each change validated, then recorded as an event; a test delivery
sent from this process; a window of the log sent again."""

from __future__ import annotations

import builtins
import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from signin_webhooks.actors.addresses import Resolver, check_address, system_resolver
from signin_webhooks.actors.delivery import Deliverer, Job
from signin_webhooks.actors.delivery_manager import DeliveryManager, Requested
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.actors.runtime import Readers, Recorder
from signin_webhooks.actors.settings_manager import SettingsManager
from signin_webhooks.actors.signing import new_secret
from signin_webhooks.actors.transport import Transport
from signin_webhooks.eventstore import (
    CATALOGUE,
    Filter,
    InvalidInput,
    NotFound,
    Record,
    format_time,
    parse_time,
)
from signin_webhooks.eventstore.deliveries import (
    AttemptRecorded,
    BatchSealed,
    Delivery,
    pack,
    to_ranges,
)
from signin_webhooks.eventstore.durations import parse_duration
from signin_webhooks.eventstore.endpoints import is_ndjson
from signin_webhooks.eventstore.event_types import selected
from signin_webhooks.eventstore.ids import new_ids, short_id
from signin_webhooks.eventstore.statuses import Trigger
from signin_webhooks.eventstore.subscription_fields import (
    SubscriptionFields,
    validate_fields,
)
from signin_webhooks.eventstore.subscriptions import (
    SecretRevoked,
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionDisabled,
    SubscriptionEnabled,
    Subscriptions,
    SubscriptionUpdated,
    rotation_expiry,
)
from signin_webhooks.eventstore.subscriptions import (
    window as fields_window,
)

DEFAULT_GRACE = 24 * 3600.0


@dataclass(frozen=True)
class Saved:
    """A subscription as saved, its secret when one was made, and what to warn about."""

    subscription: Subscription
    secret: str | None = None
    warnings: builtins.list[str] = field(default_factory=builtins.list)
    #: events already in the log sent to a new subscription (`from_sequence`, `since`)
    recovered: int = 0


class SubscriptionManager:
    """`system.subscriptions`: create, read, change and remove subscriptions; test them; recover
    a window of their events."""

    def __init__(
        self,
        ledger: Ledger,
        settings: SettingsManager,
        deliveries: DeliveryManager,
        *,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.ledger = ledger
        self.settings = settings
        self.deliveries = deliveries
        self.resolver = resolver

    # -- reading

    def list(self, *, include_deleted: bool = False) -> builtins.list[Subscription]:
        conn = self.ledger.store.project(Subscriptions())
        return Subscriptions.all(conn, deleted=include_deleted)

    def get(self, subscription_id: str, *, deleted_ok: bool = False) -> Subscription:
        """One subscription; a deleted one is refused unless `deleted_ok`."""
        conn = self.ledger.store.project(Subscriptions())
        return Subscriptions.require(conn, subscription_id, deleted_ok=deleted_ok)

    # -- changing

    def create(
        self,
        *,
        name: str,
        url: str,
        context: str | None = None,
        organization: str | None = None,
        enabled: bool = True,
        from_sequence: int | None = None,
        since: str | dt.datetime | None = None,
        **fields: Any,
    ) -> Saved:
        """Validate and save a new subscription; its secret is returned here, and only here.

        It receives the events published after it was created. `from_sequence` (the first
        sequence to send) or `since` (recorded at or after; a time or a time ago) start it
        earlier: the events already in the log from there are sent in new batches, as
        `recover` sends them, and `Saved.recovered` says how many."""
        if from_sequence is not None and since is not None:
            raise InvalidInput("give «from_sequence» or «since», not both")
        if from_sequence is not None and (
            not isinstance(from_sequence, int)
            or isinstance(from_sequence, bool)
            or from_sequence < 1
        ):
            raise InvalidInput(f"«from_sequence» {from_sequence!r} must be a whole number from 1")
        start = None if since is None else self._time(since, "since")
        values = {"name": name, "url": url, **fields, **_scope(context, organization)}
        checked = validate_fields(values)
        warnings = self._check_address(checked)
        subscription_id, secret = short_id("sub_"), new_secret()
        backlog = from_sequence is not None or start is not None
        store = self.ledger.store
        with store.errors(), store.db.write_transaction() as conn:
            if backlog:  # an event published meanwhile comes after the backlog's seals
                store.db.hold_head(conn)
            (sealed,) = store.keyring.seal(conn, subscription_id, [secret])
            created = SubscriptionCreated(
                subscription_id=subscription_id, enabled=enabled, secret=sealed,
                fields=self._sealed_headers(conn, subscription_id, checked),
            )  # fmt: skip
            seals = self._backlog(created, (from_sequence or 1) - 1, start) if backlog else []
            store.log.append_internal([created, *seals], conn)
        self.ledger.wake()
        recovered = sum(seal.count for seal in seals)
        return Saved(self.get(subscription_id), secret, warnings, recovered)

    def update(
        self,
        subscription_id: str,
        *,
        context: str | None = None,
        organization: str | None = None,
        **fields: Any,
    ) -> Saved:
        """Change some fields; the rest keep their values."""
        current = self.get(subscription_id)
        values = {**fields, **_scope(context, organization, required=False)}
        checked = validate_fields(values, base=current.fields)
        warnings = self._check_address(checked, before=current.fields)
        store = self.ledger.store
        if values.get("headers") is not None:
            opened = current.opened(store.keyring, self.ledger.clock()).fields.headers
            if checked.headers == opened:  # the same values: keep them sealed as they are
                checked = msgspec.structs.replace(checked, headers=current.fields.headers)
        if checked != current.fields:
            with store.errors(), store.db.write_transaction() as conn:
                if checked.headers is not current.fields.headers:
                    checked = self._sealed_headers(conn, subscription_id, checked)
                store.log.append_internal(
                    [SubscriptionUpdated(subscription_id=subscription_id, fields=checked)], conn
                )
            self._shred_unused(subscription_id)
            self.ledger.wake()
        return Saved(self.get(subscription_id), None, warnings)

    def enable(self, subscription_id: str, *, from_now: bool = False) -> Subscription:
        """Resume where it stopped, or with `from_now`, skip what was published meanwhile."""
        self.get(subscription_id)
        self.ledger.record(SubscriptionEnabled(subscription_id=subscription_id, from_now=from_now))
        return self.get(subscription_id)

    def disable(self, subscription_id: str, *, reason: str = "") -> Subscription:
        self.get(subscription_id)
        self.ledger.record(SubscriptionDisabled(subscription_id=subscription_id, reason=reason))
        return self.get(subscription_id)

    def delete(self, subscription_id: str) -> Subscription:
        self.get(subscription_id)
        store = self.ledger.store
        with store.errors(), store.db.write_transaction() as conn:
            store.log.append_internal([SubscriptionDeleted(subscription_id=subscription_id)], conn)
            store.keyring.shred(conn, subscription_id)  # its secrets and headers, for good
        self.ledger.wake()
        return self.get(subscription_id, deleted_ok=True)

    def rotate_secret(self, subscription_id: str, *, grace: str | float = DEFAULT_GRACE) -> Saved:
        """A new secret; the old one stays valid, and signed with, for `grace` (earlier ones
        still in their grace, for no longer). A grace of 0 leaves the new secret alone."""
        self.get(subscription_id)
        if isinstance(grace, str):
            grace = parse_duration(grace, what="grace", maximum=30 * 24 * 3600)
        secret, store = new_secret(), self.ledger.store
        with store.errors(), store.db.write_transaction() as conn:
            (sealed,) = store.keyring.seal(conn, subscription_id, [secret])
            store.log.append_internal([SecretRotated(
                subscription_id=subscription_id,
                secret=sealed,
                previous_expires_at=rotation_expiry(self.ledger.clock(), grace),
                keep_previous=grace > 0,
            )], conn)  # fmt: skip
        self._shred_unused(subscription_id)  # a secret whose grace is over is destroyed now
        self.ledger.wake()
        return Saved(self.get(subscription_id), secret)

    def revoke_secret(self, subscription_id: str, number: int) -> Subscription:
        """Retire one secret still in its grace now, by its number (`show` lists them)."""
        sub = self.get(subscription_id)
        current, *in_grace = sub.secrets
        if number == current.number:
            raise InvalidInput(
                f"secret {number} is the current secret of {subscription_id}; rotate it with"
                " «grace» 0 to replace it at once"
            )
        now = format_time(self.ledger.clock())
        valid = [s.number for s in in_grace if (s.expires_at or "") > now]
        if number not in valid:
            listed = ", ".join(map(str, valid)) if valid else "none"
            raise NotFound(
                f"{subscription_id} has no secret {number} in its grace (in grace: {listed})"
            )
        self.ledger.record(SecretRevoked(subscription_id=subscription_id, number=number))
        self._shred_unused(subscription_id)  # the revoked secret is destroyed with its key
        return self.get(subscription_id)

    def reveal(self, subscription: Subscription) -> Subscription:
        """The subscription with its secrets and header values in plaintext."""
        with self.ledger.store.errors():
            return subscription.opened(self.ledger.store.keyring, self.ledger.clock(), every=True)

    def _sealed_headers(
        self, conn: Any, subscription_id: str, fields: SubscriptionFields
    ) -> SubscriptionFields:
        if not fields.headers:
            return fields
        names = list(fields.headers)
        sealed = self.ledger.store.keyring.seal(conn, subscription_id, fields.headers.values())
        return msgspec.structs.replace(fields, headers=dict(zip(names, sealed, strict=True)))

    def _shred_unused(self, subscription_id: str) -> None:
        """Destroy the data keys no valid secret or current header value is sealed under."""
        store = self.ledger.store
        sub = self.get(subscription_id, deleted_ok=True)
        with store.errors(), store.db.write_transaction() as conn:
            store.keyring.shred(conn, subscription_id, keep=sub.keys_in_use(self.ledger.clock()))

    # -- the operator's tools

    def test(
        self, subscription_id: str, *, event_type: str | None = None
    ) -> tuple[Delivery, AttemptRecorded]:
        """Send one synthetic event now, from this process, outside the batches."""
        sub = self.get(subscription_id)
        event_type = event_type or selected(sub.fields.events)[0]
        if event_type not in CATALOGUE:
            raise InvalidInput(
                f"«event_type» {event_type!r} is not an event type; types: {', '.join(CATALOGUE)}"
            )
        clock, store = self.ledger.clock, self.ledger.store
        with store.errors():
            sub.opened(store.keyring, clock())  # the key is there, before a delivery is made
        body = _synthetic(sub, event_type, clock())
        framed = body + b"\n" if is_ndjson(sub.fields.content_type) else b"[" + body + b"]"
        seal = BatchSealed(
            batch_id=short_id("dlv_"),
            subscription_id=sub.id,
            ranges=[],
            count=1,
            bytes=len(framed),
            ndjson=framed.endswith(b"\n"),
            trigger="test",
            body=framed.decode(),
        )
        recorder = Recorder(store)
        recorder.record(seal)
        delivery = self.deliveries.get(seal.batch_id)[0]
        allow_private = self.settings.allow_private_networks()
        with Transport(resolver=self.resolver, allow_private=allow_private) as transport:
            deliverer = Deliverer(Readers(lambda: store, 1), recorder, transport, clock)
            deliverer.deliver(Job(delivery, sub, 1, "test"))
        delivery, attempts = self.deliveries.get(seal.batch_id)
        return delivery, attempts[-1]

    def recover(
        self,
        subscription_id: str,
        *,
        since: str | dt.datetime,
        until: str | dt.datetime | None = None,
        dry_run: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> tuple[int, Requested | None]:
        """Re-send the subscription's events recorded in [since, until) in new batches; returns
        how many events that is, and the request (None for a dry run). `progress` is told the
        recorded_at reached, every PROGRESS_EVERY events, as the window is read."""
        sub = self.get(subscription_id)
        start = self._time(since, "since")
        end = None if until is None else self._time(until, "until")
        if end is not None and end <= start:
            raise InvalidInput("«until» must be later than «since»")
        window = sub.window(since=start, until=end)
        return self._resend(sub, window, dry_run=dry_run, progress=progress)

    def _time(self, text: str | dt.datetime, what: str) -> str:
        return format_time(parse_time(text, what=what, now=self.ledger.clock()))

    def _resend(
        self,
        sub: Subscription,
        window: Filter,
        *,
        after: int = 0,
        through: int | None = None,
        dry_run: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> tuple[int, Requested | None]:
        """Send the window's events after `after` (and through `through`) in new batches."""
        records: Iterable[Record] = self.ledger.store.log.read(after, filter=window)
        if through is not None:
            records = itertools.takewhile(lambda r: r.sequence <= through, records)
        if progress is not None:
            records = _told(records, progress)
        entries = ((r.sequence, r.delivered_size()) for r in records)
        if dry_run:
            return sum(1 for _ in entries), None
        seals = _seals(sub.id, sub.fields, entries, "recover")
        count = sum(seal.count for seal in seals)
        return count, self.deliveries.request(*seals) if seals else None

    def _backlog(
        self, created: SubscriptionCreated, after: int, since: str | None
    ) -> builtins.list[BatchSealed]:
        """The seals of `created`'s events already in the log (after `after`, recorded at or
        after `since`), read inside the transaction that holds the log's head and records
        `created`, so the backlog ends where the log stood when the subscription began."""
        log = self.ledger.store.log
        through = log.last_sequence()
        records = log.read(after, filter=fields_window(created.fields, since=since))
        entries = (
            (r.sequence, r.delivered_size())
            for r in itertools.takewhile(lambda r: r.sequence <= through, records)
        )
        return _seals(created.subscription_id, created.fields, entries, "recover")

    def _check_address(
        self, fields: SubscriptionFields, *, before: SubscriptionFields | None = None
    ) -> builtins.list[str]:
        """Refuse a URL the installation does not allow (the endpoint's, the operations
        endpoint's: those new or changed since `before`); the warnings for one it allows."""
        settings = self.settings.show()
        allow_private = self.settings.allow_private_networks()
        warnings = []
        for field_name in ("url", "operations_url"):
            url = getattr(fields, field_name)
            if url is None or (before is not None and url == getattr(before, field_name)):
                continue
            warnings += check_address(
                url, field_name, require_https=settings.require_https,
                resolver=self.resolver, allow_private=allow_private,
            )  # fmt: skip
        return warnings


PROGRESS_EVERY = 1000


def _told(records: Iterable[Record], progress: Callable[[str], None]) -> Iterator[Record]:
    for n, record in enumerate(records, 1):
        if n % PROGRESS_EVERY == 0:
            progress(record.recorded_at)
        yield record


def _seals(
    subscription_id: str,
    fields: SubscriptionFields,
    entries: Iterable[tuple[int, int]],
    trigger: Trigger,
) -> builtins.list[BatchSealed]:
    """The events (sequence, size) packed in new batches, within the subscription's limits."""
    ndjson = is_ndjson(fields.content_type)
    limits = {"max_events": fields.max_events, "max_bytes": fields.max_bytes}
    return [
        BatchSealed(batch_id=short_id("dlv_"), subscription_id=subscription_id,
                    ranges=to_ranges(sequences), count=len(sequences), bytes=size,
                    ndjson=ndjson, trigger=trigger)
        for sequences, size in pack(entries, ndjson=ndjson, **limits)
    ]  # fmt: skip


def _scope(
    context: str | None, organization: str | None, *, required: bool = True
) -> Mapping[str, str]:
    if context is not None and organization is not None:
        raise InvalidInput("give «context» or «organization», not both")
    if context is not None:
        return {"scope": "context", "scope_id": context}
    if organization is not None:
        return {"scope": "organization", "scope_id": organization}
    if required:
        raise InvalidInput("give exactly one of «context» ID and «organization» ID")
    return {}


def _synthetic(sub: Subscription, event_type: str, now: dt.datetime) -> bytes:
    """A test event: the envelope, each required field, and a marker that it is a test."""
    fields = sub.fields
    event: dict[str, Any] = {
        "type": event_type,
        "organization_id": fields.scope_id if fields.scope == "organization" else "test",
        "context_id": fields.scope_id if fields.scope == "context" else "test",
        "id": f"test_{new_ids(1)[0]}",
        "occurred_at": format_time(now),
        "test": True,
    }
    for name in CATALOGUE[event_type][1]:
        event[name] = f"test_{name}"
    event["sequence"] = 0
    event["recorded_at"] = format_time(now)
    return msgspec.json.encode(event)
