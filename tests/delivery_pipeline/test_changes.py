"""Subscription changes while the system runs: disable, enable, update and delete."""

from __future__ import annotations

import pytest

from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchCancelled, BatchSealed
from tests.backends import BACKENDS
from tests.endpoint import Hang, Reply
from tests.helpers import event, header, received_ids, subscribe, wait_for_facts

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def test_disable_stops_delivery_and_enable_resumes_with_nothing_lost(system, endpoints):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    system.publish(event("before"))
    endpoint.wait_for(1)

    system.subscriptions.disable(sub_id, reason="maintenance")
    system.publish([event("during1"), event("during2")])
    wait_for_facts(system, BatchSealed, sub_id, 3)
    system.settled()
    assert received_ids(endpoint) == ["before"]

    system.subscriptions.enable(sub_id)
    endpoint.wait_for(3)
    system.publish(event("after"))
    endpoint.wait_for(4)
    assert received_ids(endpoint) == ["before", "during1", "during2", "after"]


def test_enable_from_now_skips_the_backlog_and_cancels_its_batches(system, endpoints):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1, enabled=False).subscription.id
    system.publish([event("old1"), event("old2")])
    sealed = wait_for_facts(system, BatchSealed, sub_id, 2)

    system.subscriptions.enable(sub_id, from_now=True)
    cancelled = wait_for_facts(system, BatchCancelled, sub_id, 2)
    assert {c.batch_id for c in cancelled} == {b.batch_id for b in sealed}
    system.publish(event("new"))
    endpoint.wait_for(1)
    system.settled()
    assert received_ids(endpoint) == ["new"]


def test_an_update_takes_effect_for_the_next_attempt(system, endpoints, clock):
    old, new = endpoints(Reply(500)), endpoints()
    sub_id = subscribe(system, old, max_events=1, retry_schedule="1s").subscription.id
    system.publish(event("moved"))
    old.wait_for(1)
    wait_for_facts(system, AttemptRecorded, sub_id, 1)

    system.subscriptions.update(sub_id, url=new.url_for("/new-hook"))
    system.publish(event("next"))
    # The batcher sealed "next" after the update reached it (the log holds them in that order).
    first, second = wait_for_facts(system, BatchSealed, sub_id, 2)
    clock.advance(1)
    retried, following = new.wait_for(2)
    assert len(old.requests) == 1
    assert retried.path == "/new-hook"
    assert [header(r, "webhook-id") for r in (retried, following)] == [
        first.batch_id,
        second.batch_id,
    ]
    assert wait_for_facts(system, AttemptRecorded, sub_id, 2)[1].url == new.url_for("/new-hook")


def test_delete_cancels_what_is_pending(system, endpoints, clock):
    endpoint = endpoints(Reply(500))
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1s").subscription.id
    system.publish(event("retrying"))
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    system.publish(event("queued"))
    sealed = wait_for_facts(system, BatchSealed, sub_id, 2)

    system.subscriptions.delete(sub_id)
    cancelled = wait_for_facts(system, BatchCancelled, sub_id, 2)
    assert {c.batch_id for c in cancelled} == {b.batch_id for b in sealed}
    clock.advance(60)
    system.publish(event("after-delete"))
    system.settled()
    assert len(endpoint.requests) == 1


def test_delete_during_an_attempt_cancels_that_delivery_once_the_attempt_ends(
    system, endpoints, clock
):
    endpoint = endpoints(Hang())
    sub_id = subscribe(
        system, endpoint, max_events=1, timeout="1s", retry_schedule="1s"
    ).subscription.id
    system.publish(event("in-flight"))
    endpoint.wait_for(1)

    system.subscriptions.delete(sub_id)
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    assert attempt.error_kind == "timeout"
    (cancelled,) = wait_for_facts(system, BatchCancelled, sub_id, 1)
    assert cancelled.batch_id == attempt.batch_id
    clock.advance(60)
    system.settled()
    assert len(endpoint.requests) == 1
