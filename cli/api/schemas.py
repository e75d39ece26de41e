"""The API's request and response bodies: msgspec Structs, the OpenAPI schema's source."""

from __future__ import annotations

from typing import Any

import msgspec

from signin_webhooks.cli.deliveries import attempt_view, delivery_view
from signin_webhooks.cli.subscriptions import view
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from signin_webhooks.eventstore.statuses import DeliveryStatus, HealthState, Trigger
from signin_webhooks.eventstore.subscriptions import Subscription


class PublishReport(msgspec.Struct):
    appended: int
    duplicates: int
    first_sequence: int | None
    last_sequence: int | None


class SubscriptionInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A new subscription: one of `context_id` and `organization_id` is its scope. Durations
    are written as on the command line (`20m`, `2m,4m,8m`)."""

    name: str
    url: str
    context_id: str | None = None
    organization_id: str | None = None
    description: str | None = None
    content_type: str | None = None
    headers: dict[str, str] | None = None
    events: list[str] | None = None
    max_events: int | None = None
    max_bytes: int | None = None
    flush_interval: str | None = None
    retry_schedule: str | None = None
    timeout: str | None = None
    auto_disable_after: str | None = None
    operations_url: str | None = None
    enabled: bool = True


class SubscriptionChange(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The fields to change; those left out keep their values."""

    name: str | None = None
    url: str | None = None
    context_id: str | None = None
    organization_id: str | None = None
    description: str | None = None
    content_type: str | None = None
    headers: dict[str, str] | None = None
    events: list[str] | None = None
    max_events: int | None = None
    max_bytes: int | None = None
    flush_interval: str | None = None
    retry_schedule: str | None = None
    timeout: str | None = None
    auto_disable_after: str | None = None
    operations_url: str | None = None


def given(change: SubscriptionInput | SubscriptionChange) -> dict[str, Any]:
    """The fields given, named as the system's API names them."""
    values = {k: v for k, v in msgspec.structs.asdict(change).items() if v is not None}
    values.pop("enabled", None)
    if "context_id" in values:
        values["context"] = values.pop("context_id")
    if "organization_id" in values:
        values["organization"] = values.pop("organization_id")
    return values


class SecretOut(msgspec.Struct):
    """`number` names the secret (revoke-secret); the current one has no expiry."""

    number: int
    secret: str
    expires_at: str | None


class SubscriptionOut(msgspec.Struct, kw_only=True):
    """A subscription as `subscriptions show --json` prints it; `secret` only right after it
    was made (create, rotate-secret)."""

    id: str
    name: str
    description: str
    scope: str
    context_id: str | None = None
    organization_id: str | None = None
    url: str
    plain_http: bool
    content_type: str
    headers: dict[str, str]
    events: list[str]
    max_events: int
    max_bytes: int
    flush_interval: str
    retry_schedule: str
    timeout: str
    auto_disable_after: str | None
    operations_url: str | None
    enabled: bool
    disabled_reason: str | None
    health: HealthState
    failing_since: str | None
    last_success: str | None
    backoff: str | None
    backoff_until: str | None
    secrets: list[SecretOut]
    created_at: str
    updated_at: str
    deleted: bool
    deleted_at: str | None
    secret: str | None = None
    warnings: list[str] = []


def subscription_out(
    sub: Subscription, *, secret: str | None = None, warnings: list[str] | None = None
) -> SubscriptionOut:
    shown = view(sub)
    shown["secrets"] = [SecretOut(**s) for s in shown["secrets"]]
    return SubscriptionOut(**shown, secret=secret, warnings=warnings or [])


class DeliveryOut(msgspec.Struct, kw_only=True):
    """A delivery as `deliveries list --json` prints it."""

    id: str
    subscription_id: str
    status: DeliveryStatus
    trigger: Trigger
    event_count: int
    first_sequence: int | None
    last_sequence: int | None
    bytes: int
    sealed_at: str
    settled_at: str | None
    next_attempt_at: str | None
    attempt_count: int


class AttemptOut(msgspec.Struct, kw_only=True):
    number: int
    trigger: Trigger
    started_at: str
    duration: str
    url: str
    request_headers: dict[str, str]
    response_status: int | None
    response_headers: dict[str, str]
    response_body: str
    error_kind: str | None
    error: str | None
    outcome: DeliveryStatus
    next_attempt_at: str | None


class DeliveryDetail(DeliveryOut, kw_only=True):
    """One delivery as `deliveries show --json` prints it: the exact body sent (null once the
    log no longer holds its events) and every attempt."""

    body: str | None
    attempts: list[AttemptOut]


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(**delivery_view(d))


def attempt_out(a: AttemptRecorded) -> AttemptOut:
    return AttemptOut(**attempt_view(a))


class Requested(msgspec.Struct):
    """An operator request recorded in the log; `waits` when no process delivers to carry it
    out yet."""

    requested: bool
    waits: bool
    events: int | None = None


class RecoverInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    since: str
    until: str | None = None
    dry_run: bool = False


class TestInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    type: str | None = None


class TestOutcome(msgspec.Struct, kw_only=True):
    delivery: DeliveryOut
    attempt: AttemptOut


class CatalogueEntry(msgspec.Struct):
    type: str
    required: list[str]
    description: str


class SubscriptionHealth(msgspec.Struct, kw_only=True):
    subscription_id: str
    name: str
    state: str
    health: HealthState
    backlog: int
    oldest_undelivered_age: str | None
    failed: int
    last_success: str | None
    failing_since: str | None
    backoff: str | None
    backoff_until: str | None


class Status(msgspec.Struct, kw_only=True):
    """As `status --json` prints it: whether a process delivers, and each subscription's
    health."""

    running: bool
    holder: str | None
    subscriptions: list[SubscriptionHealth]


class Health(msgspec.Struct):
    status: str
    detail: str = ""
