"""Failures and retries: schedules, 410 Gone, Retry-After, redirects, and endpoints that hold
nobody else up."""

from __future__ import annotations

import pytest

from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchSealed
from tests.backends import BACKENDS
from tests.endpoint import Hang, Reply
from tests.helpers import (
    event,
    facts,
    header,
    ids,
    received_ids,
    subscribe,
    wait_for_facts,
    wait_until,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def test_a_failing_endpoint_is_retried_on_its_schedule_under_one_webhook_id_then_failed(
    system, endpoints, clock
):
    endpoint = endpoints(Reply(500, body=b"down"))
    sub_id = subscribe(system, endpoint, retry_schedule="1s,2s", max_events=1).subscription.id
    system.publish(event("doomed"))

    endpoint.wait_for(1)
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    clock.advance(0.9)
    system.settled()
    assert len(endpoint.requests) == 1
    clock.advance(0.1)
    endpoint.wait_for(2)
    wait_for_facts(system, AttemptRecorded, sub_id, 2)
    clock.advance(1.9)
    system.settled()
    assert len(endpoint.requests) == 2
    clock.advance(0.1)
    endpoint.wait_for(3)
    attempts = wait_for_facts(system, AttemptRecorded, sub_id, 3)

    clock.advance(hours=1)
    system.settled()
    requests = endpoint.requests
    assert len(requests) == 3
    (sealed,) = facts(system, BatchSealed, sub_id)
    assert {header(r, "webhook-id") for r in requests} == {sealed.batch_id}
    assert len({r.body for r in requests}) == 1
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.outcome for a in attempts] == ["retrying", "retrying", "failed"]
    assert [(a.status, a.error_kind, a.response_body) for a in attempts] == [
        (500, "http_status", "down")
    ] * 3
    assert attempts[-1].next_attempt_at is None


def test_410_gone_disables_the_subscription_and_its_batch_is_resent_when_enabled(system, endpoints):
    endpoint = endpoints()
    endpoint.respond(Reply(410))
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1s").subscription.id
    system.publish(event("gone"))

    endpoint.wait_for(1)
    disabled = wait_until(
        lambda: (s := system.subscriptions.get(sub_id)) and not s.enabled and s, "disabled"
    )
    assert "410" in disabled.disabled_reason
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    assert attempt.status == 410
    system.publish(event("while-disabled"))
    system.settled()
    assert len(endpoint.requests) == 1

    system.subscriptions.enable(sub_id)
    first, again, later = endpoint.wait_for(3)
    assert header(again, "webhook-id") == header(first, "webhook-id")
    assert again.body == first.body
    assert ids(later) == ["while-disabled"]


def test_retry_after_on_429_holds_the_retry_back_beyond_the_schedule(system, endpoints, clock):
    endpoint = endpoints()
    endpoint.respond(Reply(429, headers={"Retry-After": "120"}))
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1s").subscription.id
    system.publish(event("throttled"))

    endpoint.wait_for(1)
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    assert attempt.status == 429
    clock.advance(1)
    system.settled()
    clock.advance(118)
    system.settled()
    assert len(endpoint.requests) == 1
    clock.advance(1)
    first, second = endpoint.wait_for(2)
    assert header(second, "webhook-id") == header(first, "webhook-id")
    assert wait_for_facts(system, AttemptRecorded, sub_id, 2)[1].outcome == "succeeded"


def test_a_redirect_is_not_followed_and_is_recorded_as_a_redirect(system, endpoints):
    elsewhere = endpoints()
    endpoint = endpoints(Reply(302, headers={"Location": elsewhere.url_for("/moved")}))
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1h").subscription.id
    system.publish(event("redirected"))

    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    system.settled()
    assert len(endpoint.requests) == 1
    assert elsewhere.requests == []
    assert (attempt.status, attempt.error_kind, attempt.outcome) == (302, "redirect", "retrying")


def test_a_hanging_and_a_failing_endpoint_do_not_hold_up_a_healthy_one(system, endpoints):
    hanging, failing, healthy = endpoints(Hang()), endpoints(Reply(500)), endpoints()
    hang_id = subscribe(
        system, hanging, max_events=1, timeout="4s", retry_schedule="1s"
    ).subscription.id
    fail_id = subscribe(system, failing, max_events=1, retry_schedule="1s").subscription.id
    subscribe(system, healthy, max_events=1)
    published = [event(f"h{i}") for i in range(5)]
    system.publish(published)

    hanging.wait_for(1)
    healthy.wait_for(5, timeout=30)
    assert facts(system, AttemptRecorded, hang_id) == []  # while the hanging one still hangs
    assert received_ids(healthy) == [e["id"] for e in published]
    (timed_out,) = wait_for_facts(system, AttemptRecorded, hang_id, 1)
    assert (timed_out.error_kind, timed_out.outcome) == ("timeout", "retrying")
    (failed,) = wait_for_facts(system, AttemptRecorded, fail_id, 1)
    assert (failed.status, failed.error_kind) == (500, "http_status")
