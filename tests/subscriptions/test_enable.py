"""Enable and disable: where a subscription's events start."""

from __future__ import annotations

from signin_webhooks.actors import WebhookSystem
from tests.helpers import event, subscribe
from tests.subscriptions import URL, last_internal_sequence


def test_a_new_subscription_starts_after_its_creation(system: WebhookSystem) -> None:
    system.publish([event(1), event(2)])
    saved = subscribe(system, URL)
    assert saved.subscription.start_after == last_internal_sequence(system)


def test_plain_enable_resumes_where_it_stopped(system: WebhookSystem) -> None:
    sub_id = subscribe(system, URL).subscription.id
    start_after = system.subscriptions.get(sub_id).start_after
    system.subscriptions.disable(sub_id)
    system.publish([event(1), event(2)])
    enabled = system.subscriptions.enable(sub_id)
    assert enabled.enabled
    assert enabled.start_after == start_after


def test_enable_from_now_skips_what_was_published_while_disabled(system: WebhookSystem) -> None:
    sub_id = subscribe(system, URL).subscription.id
    system.subscriptions.disable(sub_id)
    published = system.publish([event(1), event(2)])
    enabled = system.subscriptions.enable(sub_id, from_now=True)
    assert enabled.enabled
    assert enabled.start_after == last_internal_sequence(system)
    assert enabled.start_after > (published.last_sequence or 0)


def test_a_subscription_created_disabled_waits_for_enable(system: WebhookSystem) -> None:
    saved = subscribe(system, URL, enabled=False)
    assert not saved.subscription.enabled
    assert system.subscriptions.enable(saved.subscription.id).enabled
