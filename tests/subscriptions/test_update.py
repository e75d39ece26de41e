"""`update`: only the given fields change."""

from __future__ import annotations

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import InvalidInput
from tests.helpers import subscribe
from tests.subscriptions import URL, log_length


def test_update_changes_only_the_given_fields(system: WebhookSystem) -> None:
    saved = subscribe(system, URL, events=["signin.dhcp.*"], max_events=500)
    updated = system.subscriptions.update(saved.subscription.id, flush_interval="1m")
    assert updated.subscription.fields.flush_interval == 60.0
    assert updated.subscription.fields.events == ("signin.dhcp.*",)
    assert updated.subscription.fields.max_events == 500
    assert updated.secret is None


def test_an_update_that_changes_nothing_records_nothing(system: WebhookSystem) -> None:
    sub_id = subscribe(system, URL, name="CRM").subscription.id
    before = log_length(system)
    system.subscriptions.update(sub_id, name="CRM", max_events=20_000)
    assert log_length(system) == before


def test_update_can_move_a_subscription_to_the_other_scope(system: WebhookSystem) -> None:
    sub_id = subscribe(system, URL).subscription.id
    fields = system.subscriptions.update(sub_id, organization="org_acme").subscription.fields
    assert (fields.scope, fields.scope_id) == ("organization", "org_acme")


def test_update_refuses_both_scopes_and_stores_nothing(system: WebhookSystem) -> None:
    sub_id = subscribe(system, URL).subscription.id
    before = log_length(system)
    with pytest.raises(InvalidInput, match="not both"):
        system.subscriptions.update(sub_id, context="c", organization="o")
    assert log_length(system) == before
