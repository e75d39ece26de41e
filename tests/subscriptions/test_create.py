"""Creating and reading subscriptions: defaults, secrets, scope, restarts, unknown and deleted
ids."""

from __future__ import annotations

import base64

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore import NotFound
from tests.helpers import subscribe
from tests.subscriptions import URL, Opener, log_length, reveal


def test_a_new_subscription_has_the_documented_defaults(system: WebhookSystem) -> None:
    saved = subscribe(system, URL)
    f = saved.subscription.fields
    assert (f.scope, f.scope_id, f.url) == ("context", "ctx_lobby", URL)
    assert f.events == ("*",)
    assert (f.max_events, f.max_bytes, f.flush_interval) == (20_000, 16 * 1024 * 1024, 1200.0)
    assert f.retry_schedule == (120.0, 240.0, 480.0, 960.0, 1920.0)
    assert (f.timeout, f.content_type, f.headers) == (30.0, "application/json", {})
    assert saved.subscription.enabled and not saved.subscription.deleted
    assert saved.warnings == []


def test_the_secret_is_returned_at_create_and_is_24_random_bytes_or_more(
    system: WebhookSystem,
) -> None:
    first, second = subscribe(system, URL), subscribe(system, URL)
    assert first.secret is not None and first.secret.startswith("whsec_")
    assert len(base64.b64decode(first.secret.removeprefix("whsec_"), validate=True)) >= 24
    assert first.secret != second.secret
    assert reveal(system, first.subscription.id).secrets[0].value == first.secret


def test_an_organization_subscription_keeps_its_scope(system: WebhookSystem) -> None:
    saved = system.subscriptions.create(name="SIEM", url=URL, organization="org_acme")
    assert (saved.subscription.fields.scope, saved.subscription.fields.scope_id) == (
        "organization",
        "org_acme",
    )


def test_a_fresh_database_has_no_subscriptions_and_default_settings(
    system: WebhookSystem,
) -> None:
    assert system.subscriptions.list() == []
    assert system.subscriptions.list(include_deleted=True) == []
    assert system.settings.show().shown() == {
        "delivery_retention": "72h",
        "log_retention": "off",
        "allow_private_networks": "false",
        "require_https": "false",
        "auto_disable_after": "120h",
        "retry_jitter": "10%",
        "operations_url": "off",
        "delivery_pool_size": "16",
        "connections_per_host": "4",
        "worker_lease": "15s",
        "max_request_bytes": "67108864",
        "idempotency_window": "24h",
    }


def test_every_change_survives_a_restart(open_system: Opener, clock: ManualClock) -> None:
    system = open_system()
    created = subscribe(system, URL, headers={"Authorization": "Bearer t0k"})
    sub_id = created.subscription.id
    system = open_system()
    assert reveal(system, sub_id).fields.headers == {"Authorization": "Bearer t0k"}

    system.subscriptions.update(sub_id, name="CRM (EU)", flush_interval="30s")
    system = open_system()
    assert system.subscriptions.get(sub_id).fields.name == "CRM (EU)"
    assert system.subscriptions.get(sub_id).fields.flush_interval == 30.0

    system.subscriptions.disable(sub_id, reason="maintenance")
    system = open_system()
    assert not system.subscriptions.get(sub_id).enabled
    assert system.subscriptions.get(sub_id).disabled_reason == "maintenance"

    system.subscriptions.enable(sub_id, from_now=True)
    system = open_system()
    assert system.subscriptions.get(sub_id).enabled
    assert system.subscriptions.get(sub_id).disabled_reason == ""

    rotated = system.subscriptions.rotate_secret(sub_id, grace="1h")
    system = open_system()
    assert reveal(system, sub_id).valid_secrets(clock.now) == [
        rotated.secret,
        created.secret,
    ]

    system.settings.set("delivery_pool_size", "32")
    system = open_system()
    assert system.settings.show().delivery_pool_size == 32

    system.subscriptions.delete(sub_id)
    system = open_system()
    assert system.subscriptions.list() == []
    assert system.subscriptions.get(sub_id, deleted_ok=True).deleted


def test_list_leaves_out_deleted_subscriptions_unless_asked(system: WebhookSystem) -> None:
    kept, gone = subscribe(system, URL, name="kept"), subscribe(system, URL, name="gone")
    system.subscriptions.delete(gone.subscription.id)
    assert [s.id for s in system.subscriptions.list()] == [kept.subscription.id]
    every = {s.id: s.deleted for s in system.subscriptions.list(include_deleted=True)}
    assert every == {kept.subscription.id: False, gone.subscription.id: True}


OPERATIONS = {
    "get": lambda s, i: s.subscriptions.get(i),
    "update": lambda s, i: s.subscriptions.update(i, name="x"),
    "enable": lambda s, i: s.subscriptions.enable(i),
    "enable --from-now": lambda s, i: s.subscriptions.enable(i, from_now=True),
    "disable": lambda s, i: s.subscriptions.disable(i),
    "delete": lambda s, i: s.subscriptions.delete(i),
    "rotate-secret": lambda s, i: s.subscriptions.rotate_secret(i),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_id_is_refused_and_nothing_is_stored(
    system: WebhookSystem, operation: str
) -> None:
    before = log_length(system)
    with pytest.raises(NotFound, match="no subscription 'sub_nope'"):
        OPERATIONS[operation](system, "sub_nope")
    assert log_length(system) == before


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_deleted_subscription_is_refused_and_nothing_is_stored(
    system: WebhookSystem, operation: str
) -> None:
    sub_id = subscribe(system, URL).subscription.id
    system.subscriptions.delete(sub_id)
    before = log_length(system)
    with pytest.raises(NotFound, match="was deleted"):
        OPERATIONS[operation](system, sub_id)
    assert log_length(system) == before
