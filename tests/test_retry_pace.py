"""Retries keep their pace: the jitter on the schedule is recorded, so a restart keeps the
planned time, and an endpoint that says it is overloaded slows its whole subscription down."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore import InvalidInput, parse_time
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from signin_webhooks.eventstore.subscriptions import (
    SubscriptionBackedOff,
    SubscriptionBackoffEnded,
)
from tests.endpoint import Reply
from tests.helpers import event, facts, subscribe, wait_for_facts

START = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


def attempts(system: WebhookSystem, sub_id: str, n: int) -> list[AttemptRecorded]:
    system.settled()
    return wait_for_facts(system, AttemptRecorded, sub_id, n)


def planned_delay(attempt: AttemptRecorded) -> float:
    assert attempt.next_attempt_at is not None
    return (parse_time(attempt.next_attempt_at) - parse_time(attempt.started_at)).total_seconds()


def test_the_jitter_is_recorded_and_a_restart_keeps_the_planned_time(database, endpoints):
    endpoint = endpoints(Reply(500))
    clock = ManualClock(START, random=lambda: 0.5)
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        system.settings.set("retry_jitter", "20%")
        sub_id = subscribe(
            system, endpoint, max_events=1, retry_schedule="100s,100s"
        ).subscription.id
        system.publish(event("e1"))
        (first,) = attempts(system, sub_id, 1)
        assert planned_delay(first) == 110.0  # 100s, and half of the 20% it may add
    # Another process, whose chance would have planned another time, keeps the one recorded.
    later = ManualClock(clock.now, random=lambda: 0.99)
    with WebhookSystem(database, clock=later, allow_private_networks=True) as system:
        later.advance(109)
        system.settled()
        assert len(endpoint.requests) == 1, "retried before its planned time"
        later.advance(1)
        _, second = attempts(system, sub_id, 2)
        assert second.trigger == "schedule"
        assert parse_time(second.started_at) == parse_time(first.next_attempt_at or "")


def test_the_jitter_stays_within_its_setting(database, endpoints):
    chances = itertools.cycle([0.0, 0.999999])
    clock = ManualClock(START, random=lambda: next(chances))
    endpoint = endpoints(Reply(500))
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        system.settings.set("retry_jitter", "50%")
        sub_id = subscribe(
            system, endpoint, max_events=1, retry_schedule="10s,10s,10s"
        ).subscription.id
        system.publish(event("e1"))
        delays = []
        for n in (1, 2, 3):
            delays.append(planned_delay(attempts(system, sub_id, n)[-1]))
            clock.advance(16)
    assert delays[0] == 10.0  # no later than the schedule when chance says 0
    assert 14.99 < delays[1] <= 15.0  # and at most half again when it says almost 1
    assert delays[2] == 10.0


def test_the_jitter_setting_is_a_percentage(system):
    assert system.settings.show().shown()["retry_jitter"] == "10%"
    with pytest.raises(InvalidInput, match="from 0% to 100%"):
        system.settings.set("retry_jitter", "150%")
    system.settings.set("retry_jitter", "0")
    assert system.settings.show().retry_jitter == 0.0


@pytest.mark.parametrize(
    "reply",
    [Reply(502), Reply(504), Reply(429)],
    ids=["502", "504", "429-without-retry-after"],
)
def test_an_overloaded_endpoint_slows_the_next_batches_down(system, endpoints, clock, reply):
    endpoint = endpoints()
    endpoint.respond(reply, reply)
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="10s").subscription.id
    system.publish([event("e1"), event("e2")])
    attempts(system, sub_id, 1)
    clock.advance(10)
    attempts(system, sub_id, 2)  # the second answer overloaded too: the first batch failed
    (first, second) = facts(system, SubscriptionBackedOff, sub_id)
    assert (first.backoff, second.backoff) == (10.0, 20.0)  # doubling with each such answer
    assert f"HTTP {reply.status}" in second.reason
    shown = system.subscriptions.get(sub_id)
    assert shown.backoff_until == second.until
    assert [r["backoff_until"] for r in system.status() if r["subscription_id"] == sub_id] == [
        second.until
    ]

    # The next batch does not go at once, as it would after an ordinary failure: it waits for
    # the end of the backoff, 20s after the last answer.
    clock.advance(19)
    system.settled()
    assert len(endpoint.requests) == 2
    clock.advance(1)
    *_, third = attempts(system, sub_id, 3)
    assert third.outcome == "succeeded"
    (ended,) = wait_for_facts(system, SubscriptionBackoffEnded, sub_id, 1)
    assert third.batch_id in ended.reason
    assert system.subscriptions.get(sub_id).backoff_until is None


def test_retry_after_holds_only_its_retry_and_backs_nothing_off(system, endpoints, clock):
    endpoint = endpoints()
    endpoint.respond(Reply(429, headers={"Retry-After": "30"}))
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="10s").subscription.id
    system.publish(event("e1"))
    (first,) = attempts(system, sub_id, 1)
    assert planned_delay(first) == 30.0
    clock.advance(30)
    attempts(system, sub_id, 2)
    assert facts(system, SubscriptionBackedOff, sub_id) == []
    system.publish(event("e2"))
    assert attempts(system, sub_id, 3)[-1].outcome == "succeeded"  # at once


def test_a_backoff_survives_a_restart(database, endpoints):
    endpoint = endpoints()
    endpoint.respond(Reply(502), Reply(502))
    clock = ManualClock(START)
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="45s").subscription.id
        system.publish(event("e1"))
        attempts(system, sub_id, 1)
        clock.advance(45)
        assert attempts(system, sub_id, 2)[-1].outcome == "failed"
        backed_off = facts(system, SubscriptionBackedOff, sub_id)[-1]
        assert backed_off.backoff == 90.0
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        system.publish(event("e2"))
        clock.advance(89)
        system.settled()
        assert len(endpoint.requests) == 2, "the next batch went before the backoff ended"
        clock.advance(1)
        assert attempts(system, sub_id, 3)[-1].outcome == "succeeded"


def test_a_test_delivery_neither_backs_off_nor_waits(system, endpoints):
    endpoint = endpoints(Reply(502))
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    system.subscriptions.test(sub_id)
    system.subscriptions.test(sub_id)
    assert len(endpoint.requests) == 2
    assert facts(system, SubscriptionBackedOff, sub_id) == []
