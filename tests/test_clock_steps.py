"""A wall clock stepped back (by NTP, or by hand) holds no timer, and the log's `recorded_at`
never goes backwards, so windows on it skip no event. The ManualClock drives both faces of
time: `advance` moves elapsed and wall time together, `step` moves the wall clock alone."""

from __future__ import annotations

import contextlib

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.endpoint import Endpoint, Reply
from tests.helpers import event, received_ids, subscribe, wait_for_facts


def advance_until_received(clock: ManualClock, seconds: float, endpoint: Endpoint) -> int:
    """Advance the clock by `seconds` until the endpoint has a request; returns how many
    advances that took. The timer is armed on an actor's thread: one advance may come first."""
    for advances in range(1, 6):
        clock.advance(seconds)
        with contextlib.suppress(AssertionError):
            endpoint.wait_for(1, timeout=1)
            return advances
    raise AssertionError("no request after 5 advances")


def test_a_flush_is_not_held_by_a_wall_clock_stepped_back(system, endpoints, clock):
    endpoint = endpoints(Reply(200))
    subscribe(system, endpoint, flush_interval="2s")
    system.publish(event("a"))
    system.routed(timeout=5)
    clock.step(days=-30)

    advance_until_received(clock, 2, endpoint)  # a flush interval or two, not thirty days

    assert received_ids(endpoint) == ["a"]


def test_a_retry_is_not_held_by_a_wall_clock_stepped_back(system, endpoints, clock):
    endpoint = endpoints(Reply(200))
    endpoint.respond(Reply(503))
    sub_id = subscribe(system, endpoint, flush_interval="0", retry_schedule="1m").subscription.id
    system.publish(event("a"))
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    clock.step(days=-30)
    clock.advance(minutes=1)

    endpoint.wait_for(2)
    assert received_ids(endpoint) == ["a", "a"]


def test_recorded_at_never_goes_back_so_windows_on_it_skip_nothing(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock) as system:
        sub_id = subscribe(system, "https://crm.example.com/hook").subscription.id
        system.publish(event("before"))
        clock.step(hours=-1)
        system.publish(event("after"))
        first, second = system.replay()

        assert second.recorded_at >= first.recorded_at
        assert [r.id for r in system.replay(since=first.recorded_at)] == ["before", "after"]
        count, _ = system.subscriptions.recover(sub_id, since=first.recorded_at, dry_run=True)
        assert count == 2


def test_recorded_at_follows_the_clock_again_once_it_has_caught_up(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock) as system:
        system.publish(event("a"))
        clock.step(seconds=-10)
        clock.advance(seconds=20)
        system.publish(event("b"))
        _, second = system.replay()

        assert second.recorded_at == "2026-01-31T09:00:10.000000Z"
