"""`deliveries retry`: a new series of attempts for a failed delivery, and what it refuses."""

from __future__ import annotations

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import format_time
from tests.delivery_history import delivery_of, failed_delivery
from tests.endpoint import Reply
from tests.helpers import event, header, subscribe, wait_until


def test_retry_of_a_failed_delivery_succeeds_once_the_endpoint_heals(
    system, operator, endpoints, clock
):
    endpoint = endpoints(Reply(500))
    sub_id, delivery_id = failed_delivery(system, operator, clock, endpoint)
    failed_at = operator.json("deliveries", "show", delivery_id)["settled_at"]
    clock.advance(minutes=5)
    endpoint.set_default(Reply(200, body=b"thanks"))

    said = operator.ok("deliveries", "retry", delivery_id)
    assert said.strip() == f"retry of {delivery_id} requested; `run` carries it out"
    first, _, retried = endpoint.wait_for(3)
    assert header(retried, "webhook-id") == delivery_id
    assert retried.body == first.body
    delivery_of(operator, sub_id, status="succeeded")

    shown = operator.json("deliveries", "show", delivery_id)
    assert [(a["number"], a["trigger"], a["outcome"]) for a in shown["attempts"]] == [
        (1, "schedule", "retrying"),
        (2, "schedule", "failed"),
        (3, "retry", "succeeded"),
    ]
    assert shown["attempts"][-1]["response_body"] == "thanks"
    assert shown["settled_at"] == format_time(clock.now) != failed_at
    system.settled()
    assert len(endpoint.requests) == 3


def test_a_retried_delivery_that_fails_again_gets_a_whole_new_series_of_attempts(
    system, operator, endpoints, clock
):
    endpoint = endpoints(Reply(500))
    sub_id, delivery_id = failed_delivery(system, operator, clock, endpoint)

    operator.ok("deliveries", "retry", delivery_id)
    delivery_of(operator, sub_id, status="retrying", attempt_count=3)
    clock.advance(minutes=1)
    delivery_of(operator, sub_id, status="failed", attempt_count=4)
    shown = operator.json("deliveries", "show", delivery_id)
    assert [(a["trigger"], a["outcome"]) for a in shown["attempts"][2:]] == [
        ("retry", "retrying"),
        ("retry", "failed"),
    ]
    assert {header(r, "webhook-id") for r in endpoint.requests} == {delivery_id}


def test_retry_of_a_pending_retrying_or_succeeded_delivery_is_refused_without_force(
    system, operator, endpoints, clock
):
    healthy, gone, flaky = endpoints(), endpoints(), endpoints(Reply(500))
    gone.respond(Reply(410))  # 410 Gone disables the subscription; its delivery stays pending
    ok_id = subscribe(system, healthy, max_events=1).subscription.id
    gone_id = subscribe(system, gone, max_events=1, context="ctx_gone").subscription.id
    flaky_id = subscribe(
        system, flaky, max_events=1, context="ctx_flaky", retry_schedule="1h"
    ).subscription.id
    system.publish(
        [event("ok"), event("gone", context_id="ctx_gone"), event("f", context_id="ctx_flaky")]
    )
    succeeded = delivery_of(operator, ok_id, status="succeeded")["id"]
    pending = delivery_of(operator, gone_id, status="pending", attempt_count=1)["id"]
    retrying = delivery_of(operator, flaky_id, status="retrying")["id"]

    for delivery_id, status in (
        (succeeded, "has succeeded already"),
        (pending, "is still pending"),
        (retrying, "is retrying"),
    ):
        line = operator.refused("deliveries", "retry", delivery_id)
        assert line == f"delivery {delivery_id} {status}; retry it anyway with --force"
    system.settled()
    assert len(healthy.requests) == 1

    operator.ok("deliveries", "retry", succeeded, "--force")
    first, again = healthy.wait_for(2)
    assert header(again, "webhook-id") == header(first, "webhook-id") == succeeded
    assert again.body == first.body
    wait_until(
        lambda: (
            operator.json("deliveries", "show", succeeded)["attempts"][-1]["trigger"] == "retry"
        ),
        "the forced retry recorded",
    )


def test_retry_without_a_running_system_waits_for_run_which_then_carries_it_out(
    systems, operator, endpoints, clock
):
    endpoint = endpoints(Reply(500))
    sub_id, delivery_id = failed_delivery(systems.start(), operator, clock, endpoint)
    systems.stop()
    endpoint.set_default(Reply(200))

    said = operator.ok("deliveries", "retry", delivery_id)
    assert said.strip() == f"retry of {delivery_id} requested; it waits for `signin-webhooks run`"
    assert len(endpoint.requests) == 2

    systems.start()
    retried = endpoint.wait_for(3)[2]
    assert header(retried, "webhook-id") == delivery_id
    delivery_of(operator, sub_id, status="succeeded", attempt_count=3)
    assert operator.json("deliveries", "show", delivery_id)["attempts"][-1]["trigger"] == "retry"


def test_a_test_delivery_is_not_retried(db, operator, endpoints):
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(offline, endpoints()).subscription.id
    operator.ok("subscriptions", "test", sub_id)
    (test,) = operator.json("deliveries", "list")
    assert "subscriptions test" in operator.refused("deliveries", "retry", test["id"], "--force")
