"""Endpoint health: healthy -> failing -> disabled, each transition a fact in the log with its
reason. A running WebhookSystem on a ManualClock, real endpoints on 127.0.0.1; retries come due
by advancing the clock."""

from __future__ import annotations

from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import Store, format_time
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from signin_webhooks.eventstore.subscriptions import (
    SubscriptionDisabled,
    SubscriptionFailing,
    SubscriptionRecovered,
    Subscriptions,
)
from tests.backends import BACKENDS
from tests.endpoint import Reply
from tests.helpers import (
    event,
    facts,
    invoke,
    received_ids,
    subscribe,
    wait_for_facts,
    wait_until,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def status_of(system: WebhookSystem, sub_id: str) -> dict[str, Any]:
    (row,) = [r for r in system.status() if r["subscription_id"] == sub_id]
    return row


def delivery_statuses(system: WebhookSystem, sub_id: str) -> list[str]:
    return [d.status for d in system.deliveries.list(subscription_id=sub_id)]


def test_a_subscription_failing_past_auto_disable_after_is_disabled_and_resumes_where_it_stopped(
    system, endpoints, clock
):
    endpoint = endpoints(Reply(503))
    sub_id = subscribe(
        system, endpoint, retry_schedule="1h,1h,1h,1h,1h", auto_disable_after="3h", max_events=1
    ).subscription.id
    failing_since = format_time(clock.now)
    system.publish(event("e1"))
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    (failing,) = wait_for_facts(system, SubscriptionFailing, sub_id, 1)
    assert (failing.since, failing.reason.endswith("attempt 1: HTTP 503")) == (failing_since, True)
    assert status_of(system, sub_id)["health"] == "failing"

    for n in (2, 3):
        clock.advance(hours=1)
        wait_for_facts(system, AttemptRecorded, sub_id, n)
    assert facts(system, SubscriptionDisabled, sub_id) == []
    system.publish(event("e2"))  # waits behind e1, and through the disable
    clock.advance(hours=1)
    (disabled,) = wait_for_facts(system, SubscriptionDisabled, sub_id, 1)
    assert disabled.automatic
    assert f"failing since {failing_since}, longer than auto_disable_after 3h" in disabled.reason
    shown = system.subscriptions.get(sub_id)
    assert (shown.enabled, shown.health, shown.disabled_reason) == (
        False,
        "disabled",
        disabled.reason,
    )
    wait_until(
        lambda: delivery_statuses(system, sub_id) == ["pending"] * 2, "e1 and e2 kept pending"
    )
    assert status_of(system, sub_id)["backlog"] == 2

    endpoint.set_default(Reply(200))
    system.subscriptions.enable(sub_id)
    wait_until(lambda: received_ids(endpoint)[-2:] == ["e1", "e2"], "e1 then e2 delivered")
    wait_until(lambda: status_of(system, sub_id)["backlog"] == 0, "the backlog delivered")
    row = status_of(system, sub_id)
    assert (row["health"], row["failing_since"]) == ("healthy", None)
    assert row["last_success"] == format_time(clock.now)


def test_a_success_returns_a_failing_subscription_to_healthy(system, endpoints, clock):
    endpoint = endpoints(Reply(500))
    sub_id = subscribe(system, endpoint, retry_schedule="1m", max_events=1).subscription.id
    system.publish(event("e1"))
    wait_for_facts(system, SubscriptionFailing, sub_id, 1)
    endpoint.set_default(Reply(204))
    clock.advance(minutes=1)
    (recovered,) = wait_for_facts(system, SubscriptionRecovered, sub_id, 1)
    assert recovered.reason.endswith("attempt 2 succeeded")
    wait_until(lambda: status_of(system, sub_id)["failing_since"] is None, "healthy again")
    assert status_of(system, sub_id)["health"] == "healthy"


def test_auto_disable_after_comes_from_the_settings_unless_the_subscription_sets_its_own(
    system, endpoints, clock
):
    system.settings.set("auto_disable_after", "2h")
    endpoint = endpoints(Reply(500))
    by_setting = subscribe(
        system, endpoint, retry_schedule="1h,1h,1h", max_events=1
    ).subscription.id
    never = subscribe(
        system, endpoint, retry_schedule="1h,1h,1h", auto_disable_after="0", max_events=1
    ).subscription.id
    system.publish(event("e1"))
    for n in (1, 2, 3):
        for sub_id in (by_setting, never):
            wait_for_facts(system, AttemptRecorded, sub_id, n)
        clock.advance(hours=1)
    wait_for_facts(system, SubscriptionDisabled, by_setting, 1)
    wait_for_facts(system, AttemptRecorded, never, 4)
    assert facts(system, SubscriptionDisabled, never) == []
    assert system.subscriptions.get(never).health == "failing"


def test_a_test_delivery_never_changes_health(system, endpoints):
    endpoint = endpoints(Reply(500))
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    delivery, _ = system.subscriptions.test(sub_id)
    assert delivery.status == "failed"
    row = status_of(system, sub_id)
    assert (row["health"], row["failing_since"], row["failed"]) == ("healthy", None, 0)
    assert facts(system, SubscriptionFailing, sub_id) == []

    system.publish(event("e1"))
    wait_until(lambda: status_of(system, sub_id)["health"] == "failing", "failing for real")
    endpoint.set_default(Reply(200))
    delivery, _ = system.subscriptions.test(sub_id)
    assert delivery.status == "succeeded"
    row = status_of(system, sub_id)
    assert (row["health"], row["last_success"]) == ("failing", None)
    assert facts(system, SubscriptionRecovered, sub_id) == []


def test_the_last_success_is_kept_once_the_delivery_records_expire(system, endpoints, clock):
    sub_id = subscribe(system, endpoints(), max_events=1).subscription.id
    succeeded_at = format_time(clock.now)
    system.publish(event("e1"))
    wait_until(lambda: delivery_statuses(system, sub_id) == ["succeeded"], "e1 delivered")
    system.settings.set("delivery_retention", "1h")
    clock.advance(hours=2)
    system.retention()  # or the running system's own retention, due as the clock moved
    assert system.deliveries.list(subscription_id=sub_id) == []
    assert status_of(system, sub_id)["last_success"] == succeeded_at
    assert system.subscriptions.get(sub_id).last_success_at == succeeded_at


def test_status_counts_the_deliveries_that_failed_for_good(system, endpoints, clock, database):
    endpoint = endpoints(Reply(500))
    sub_id = subscribe(system, endpoint, retry_schedule="1m", max_events=1).subscription.id
    system.subscriptions.test(sub_id)  # a failed test is not a failed delivery
    system.publish(event("e1"))
    wait_for_facts(system, AttemptRecorded, sub_id, 2)  # the test, and e1's first attempt
    clock.advance(minutes=1)
    wait_until(lambda: status_of(system, sub_id)["failed"] == 1, "e1 failed for good")
    assert status_of(system, sub_id)["backlog"] == 0
    shown = invoke("--db", str(database), "status")
    (line,) = [line for line in shown.stdout.splitlines() if line.startswith(sub_id)]
    assert line.split()[2:4] + line.split()[5:6] == ["failing", "0", "1"]


def test_health_is_rebuilt_from_the_log_as_it_was_live(system, endpoints, clock, database):
    endpoint = endpoints(Reply(500))
    sub_id = subscribe(
        system, endpoint, retry_schedule="1m", auto_disable_after="1m", max_events=1
    ).subscription.id
    system.publish(event("e1"))
    wait_for_facts(system, SubscriptionFailing, sub_id, 1)
    clock.advance(minutes=1)
    wait_for_facts(system, SubscriptionDisabled, sub_id, 1)
    live = system.subscriptions.get(sub_id)
    store = Store(database)
    try:
        store.projector.rebuild(Subscriptions())
        assert Subscriptions.get(store.db.conn, sub_id) == live
    finally:
        store.close()
