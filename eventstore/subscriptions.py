"""Subscriptions as event-sourced state: the facts of their lifecycle and the current set."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from signin_webhooks.eventstore.errors import NotFound
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Filter, Record
from signin_webhooks.eventstore.projection import Projection
from signin_webhooks.eventstore.secrets import Keyring, key_of
from signin_webhooks.eventstore.statuses import DeliveryStatus, HealthState, Trigger
from signin_webhooks.eventstore.subscription_fields import SubscriptionFields
from signin_webhooks.eventstore.times import format_time, parse_time

REDACTED = "[redacted]"
DESTROYED = "[destroyed]"


class SubscriptionCreated(InternalEvent, frozen=True, kw_only=True, tag="subscription.created"):
    """v2: `fields.written` keeps durations as written (absent in v1, which reads as none).
    v3: `secret` and the header values are sealed (eventstore/secrets.py); v1 and v2 hold them
    in plaintext, and are read as they are."""

    v: int = 3
    subscription_id: str
    fields: SubscriptionFields
    enabled: bool
    secret: str

    def redacted(self) -> SubscriptionCreated:
        return msgspec.structs.replace(self, secret=REDACTED, fields=redact_fields(self.fields))


class SubscriptionUpdated(InternalEvent, frozen=True, kw_only=True, tag="subscription.updated"):
    """v2: as SubscriptionCreated's; v3: the header values are sealed."""

    v: int = 3
    subscription_id: str
    fields: SubscriptionFields

    def redacted(self) -> SubscriptionUpdated:
        return msgspec.structs.replace(self, fields=redact_fields(self.fields))


class SubscriptionEnabled(InternalEvent, frozen=True, tag="subscription.enabled"):
    """`from_now`: events published before this one are skipped."""

    subscription_id: str
    from_now: bool = False


class SubscriptionDisabled(InternalEvent, frozen=True, tag="subscription.disabled"):
    """`automatic`: the system disabled it (410 Gone, or failing past auto_disable_after)."""

    subscription_id: str
    reason: str = ""
    automatic: bool = False


class SubscriptionFailing(InternalEvent, frozen=True, tag="subscription.failing"):
    """Health: an attempt failed while the subscription was healthy; `since` is its start."""

    subscription_id: str
    since: str
    reason: str


class SubscriptionRecovered(InternalEvent, frozen=True, tag="subscription.recovered"):
    """Health: an attempt succeeded while the subscription was failing."""

    subscription_id: str
    reason: str


class SubscriptionBackedOff(InternalEvent, frozen=True, tag="subscription.backed_off"):
    """Pace: the endpoint answered 502, 504, or 429 without Retry-After, so no attempt of the
    subscription starts before `until`; `backoff` (seconds) doubles with each such answer until
    a success."""

    subscription_id: str
    backoff: float
    until: str
    reason: str


class SubscriptionBackoffEnded(InternalEvent, frozen=True, tag="subscription.backoff_ended"):
    """Pace: an attempt succeeded while the subscription was backed off."""

    subscription_id: str
    reason: str


class SecretRotated(InternalEvent, frozen=True, kw_only=True, tag="subscription.secret_rotated"):
    """The old secret stays valid, and is signed with, until `previous_expires_at`; every
    earlier secret still in its grace too, for no longer. `keep_previous` false (a rotation
    without grace): the new secret is the only one left. v2: the secret is sealed; v1 holds it
    in plaintext."""

    v: int = 2
    subscription_id: str
    secret: str
    previous_expires_at: str
    keep_previous: bool = True

    def redacted(self) -> SecretRotated:
        return msgspec.structs.replace(self, secret=REDACTED)


class SecretRevoked(InternalEvent, frozen=True, tag="subscription.secret_revoked"):
    """A secret still in its grace is retired before its time (it leaked, say)."""

    subscription_id: str
    number: int


class SubscriptionDeleted(InternalEvent, frozen=True, tag="subscription.deleted"):
    subscription_id: str


def redact_fields(fields: SubscriptionFields) -> SubscriptionFields:
    return msgspec.structs.replace(fields, headers=dict.fromkeys(fields.headers, REDACTED))


class Secret(msgspec.Struct, frozen=True):
    """`number`: the sequence of the event that made it, which names it (`revoke-secret`)."""

    value: str
    expires_at: str | None = None
    number: int = 0


def window(
    fields: SubscriptionFields, *, since: str | None = None, until: str | None = None
) -> Filter:
    """A read of the log that returns the events of a subscription with these fields."""
    scope, scope_id = fields.scope, fields.scope_id
    return Filter(
        types=fields.events,
        organization=scope_id if scope == "organization" else None,
        context=scope_id if scope == "context" else None,
        since=since,
        until=until,
    )


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """The current state of one subscription, as the projection keeps it."""

    id: str
    fields: SubscriptionFields
    enabled: bool
    disabled_reason: str = ""
    secrets: tuple[Secret, ...]
    created_at: str
    updated_at: str
    deleted_at: str | None = None
    #: events at or before this sequence are not delivered (creation, enable --from-now)
    start_after: int
    #: health: the start of the first failed attempt since the last success, while failing
    failing_since: str | None = None
    last_success_at: str | None = None  # the start of the last attempt that succeeded
    #: pace: after 502, 504 or 429 without Retry-After, no attempt starts before backoff_until
    backoff: float = 0.0
    backoff_until: str | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def health(self) -> HealthState:
        """healthy -> failing -> disabled; a success returns it to healthy."""
        if not self.enabled:
            return "disabled"
        return "healthy" if self.failing_since is None else "failing"

    def window(self, *, since: str | None = None, until: str | None = None) -> Filter:
        """A read of the log that returns this subscription's events: its scope, its types (the
        patterns are globs already), recorded in [since, until) when given."""
        return window(self.fields, since=since, until=until)

    def valid_secrets(self, now: dt.datetime) -> list[str]:
        """Secrets to sign with now: the current one, and the previous during its grace."""
        return [
            s.value for s in self.secrets if s.expires_at is None or parse_time(s.expires_at) > now
        ]

    def keys_in_use(self, now: dt.datetime) -> set[str]:
        """The data keys its valid secrets and current header values are sealed under: every
        other key of the subscription may be destroyed."""
        if self.deleted:
            return set()
        values = [*self.valid_secrets(now), *self.fields.headers.values()]
        return {key for key in map(key_of, values) if key is not None}

    def opened(self, keyring: Keyring, now: dt.datetime, *, every: bool = False) -> Subscription:
        """This subscription with its valid secrets and its header values in plaintext, as a
        delivery needs them; `every`: all the secrets it lists, and what was destroyed shown
        as such, as `show --reveal` prints it."""

        def open_(value: str, what: str) -> str:
            if every and not keyring.has(value):
                return DESTROYED
            return keyring.open(value, what)

        secrets = tuple(
            msgspec.structs.replace(
                s, value=open_(s.value, f"signing secret {s.number} of {self.id}")
            )
            for s in self.secrets
            if every or s.expires_at is None or parse_time(s.expires_at) > now
        )
        headers = {
            name: open_(value, f"header {name!r} of {self.id}")
            for name, value in self.fields.headers.items()
        }
        fields = msgspec.structs.replace(self.fields, headers=headers)
        return msgspec.structs.replace(self, secrets=secrets, fields=fields)


_TYPES = (
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionEnabled,
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
    SubscriptionBackedOff,
    SubscriptionBackoffEnded,
    SecretRotated,
    SecretRevoked,
    SubscriptionDeleted,
)
LIFECYCLE = frozenset(cls.type_name() for cls in _TYPES)
#: facts of the endpoint's doing, which the batcher that recorded them knows already
HEALTH = frozenset(
    cls.type_name()
    for cls in (
        SubscriptionFailing,
        SubscriptionRecovered,
        SubscriptionBackedOff,
        SubscriptionBackoffEnded,
    )
)
_ATTEMPT = "attempt.recorded"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(Subscription).decode


class _AttemptOutcome(msgspec.Struct):
    """The fields of an attempt.recorded the subscription keeps (its last success)."""

    subscription_id: str
    trigger: Trigger  # typed as the fact's are: see eventstore/statuses.py
    started_at: str
    outcome: DeliveryStatus


_attempt_outcome = msgspec.json.Decoder(_AttemptOutcome).decode


def evolve(state: Subscription | None, record: Record, event: InternalEvent) -> Subscription:
    """The state after one event: the whole of a subscription's behaviour over time."""
    at = record.recorded_at
    if isinstance(event, SubscriptionCreated):
        return Subscription(
            id=event.subscription_id,
            fields=event.fields,
            enabled=event.enabled,
            secrets=(Secret(event.secret, number=record.sequence),),
            created_at=at,
            updated_at=at,
            start_after=record.sequence,
        )
    assert state is not None, f"{event.type_name()} before subscription.created"
    match event:  # health is the endpoint's doing, not a change an operator made
        case SubscriptionFailing():
            return msgspec.structs.replace(state, failing_since=event.since)
        case SubscriptionRecovered():
            return msgspec.structs.replace(state, failing_since=None)
        case SubscriptionBackedOff():
            return msgspec.structs.replace(state, backoff=event.backoff, backoff_until=event.until)
        case SubscriptionBackoffEnded():
            return msgspec.structs.replace(state, backoff=0.0, backoff_until=None)
    change: dict[str, object] = {"updated_at": at}
    match event:
        case SubscriptionUpdated():
            change["fields"] = event.fields
        case SubscriptionEnabled():  # a fresh start: the next failure starts the clock again
            change.update(
                enabled=True, disabled_reason="", failing_since=None, backoff=0.0,
                backoff_until=None,
            )  # fmt: skip
            if event.from_now:
                change["start_after"] = record.sequence
        case SubscriptionDisabled():
            change.update(enabled=False, disabled_reason=event.reason)
        case SecretRotated():
            new = Secret(event.secret, number=record.sequence)
            if not event.keep_previous:
                change["secrets"] = (new,)
            else:
                until = event.previous_expires_at
                current, *earlier = state.secrets
                previous = msgspec.structs.replace(current, expires_at=until)
                still_valid = tuple(
                    msgspec.structs.replace(s, expires_at=min(s.expires_at, until))
                    for s in earlier
                    if s.expires_at and s.expires_at > at
                )
                change["secrets"] = (new, previous, *still_valid)
        case SecretRevoked():
            change["secrets"] = tuple(s for s in state.secrets if s.number != event.number)
        case SubscriptionDeleted():
            change.update(enabled=False, deleted_at=at)
    return msgspec.structs.replace(state, **change)


class Subscriptions(Projection):
    """The current set, deleted ones kept and marked."""

    name = "subscriptions"
    tables = ("subscriptions",)
    reads_internal = True
    schema = """
    CREATE TABLE IF NOT EXISTS subscriptions (
        id TEXT PRIMARY KEY,
        deleted INTEGER NOT NULL,
        state BLOB NOT NULL
    )
    """

    def apply(self, conn: Any, records: list[Record]) -> None:
        changed: dict[str, Subscription] = {}
        for record in records:
            if record.type == _ATTEMPT:
                self._attempted(conn, changed, _attempt_outcome(record.body))
                continue
            if record.type not in LIFECYCLE:
                continue
            event = record.event()
            key = event.subscription_id  # type: ignore[attr-defined]  # every lifecycle fact has it
            state = changed.get(key) or self.get(conn, key)
            changed[key] = evolve(state, record, event)
        conn.executemany(
            "INSERT INTO subscriptions (id, deleted, state) VALUES (?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET deleted = excluded.deleted, state = excluded.state",
            [(s.id, int(s.deleted), _encode(s)) for s in changed.values()],
        )

    def _attempted(
        self, conn: Any, changed: dict[str, Subscription], attempt: _AttemptOutcome
    ) -> None:
        """The last success is the subscription's own, kept after its delivery record expires;
        a test delivery is not the endpoint's track record."""
        if attempt.outcome != "succeeded" or attempt.trigger == "test":
            return
        state = changed.get(attempt.subscription_id) or self.get(conn, attempt.subscription_id)
        if state is not None:
            changed[state.id] = msgspec.structs.replace(state, last_success_at=attempt.started_at)

    @staticmethod
    def get(conn: Any, subscription_id: str) -> Subscription | None:
        row = conn.execute(
            "SELECT state FROM subscriptions WHERE id = ?", [subscription_id]
        ).fetchone()
        return _decode(row[0]) if row else None

    @staticmethod
    def require(conn: Any, subscription_id: str, *, deleted_ok: bool = False) -> Subscription:
        """One subscription; a deleted one is refused unless `deleted_ok`."""
        found = Subscriptions.get(conn, subscription_id)
        if found is None:
            raise unknown_subscription(subscription_id)
        if found.deleted and not deleted_ok:
            raise NotFound(
                f"subscription {subscription_id!r} was deleted at {found.deleted_at};"
                " `«subscriptions.list(include_deleted=True)»` shows it"
            )
        return found

    @staticmethod
    def all(conn: Any, *, deleted: bool = False) -> list[Subscription]:
        sql = "SELECT state FROM subscriptions"
        if not deleted:
            sql += " WHERE deleted = 0"
        return [_decode(row[0]) for row in conn.execute(sql + " ORDER BY id")]


def rotation_expiry(now: dt.datetime, grace: float) -> str:
    return format_time(now + dt.timedelta(seconds=grace))


def unknown_subscription(subscription_id: str) -> NotFound:
    """The refusal of an id that names no subscription (or none the asker may see)."""
    return NotFound(f"no subscription {subscription_id!r}; `«subscriptions.list()»` shows the ids")
