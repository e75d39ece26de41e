"""Other processes: events published and changes made while this system runs, or while nothing
runs."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchCancelled, BatchSealed
from tests.backends import BACKENDS
from tests.endpoint import Hang, Reply
from tests.helpers import (
    event,
    facts,
    ids,
    received_ids,
    subscribe,
    wait_for_facts,
    wait_until,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def test_events_published_by_another_process_are_delivered_while_running(
    system, endpoints, command
):
    endpoint = endpoints()
    subscribe(system, endpoint, max_events=2)
    lines = "\n".join(json.dumps(event(f"p{i}")) for i in range(2))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIN_WEBHOOKS")}
    subprocess.run(
        [command, "--db", str(system.path), "publish", "-"],
        input=lines.encode(),
        env=env,
        check=True,
        capture_output=True,
        timeout=30,
    )

    (request,) = endpoint.wait_for(1)
    assert ids(request) == ["p0", "p1"]


def test_a_backlog_longer_than_the_batcher_holds_goes_out_in_order_once_the_endpoint_heals(
    system, endpoints, clock
):
    # 80 batches behind a failing first one: the batcher keeps a few in memory and reads the
    # rest back from the log as their turn comes.
    endpoint = endpoints(Reply(200))
    endpoint.respond(Reply(503))
    sub_id = subscribe(
        system, endpoint, retry_schedule="1m", max_events=1, flush_interval="0"
    ).subscription.id
    system.publish([event(f"e{i:03d}") for i in range(80)])
    wait_for_facts(system, AttemptRecorded, sub_id, 1)  # its retry is due a minute after it
    wait_for_facts(system, BatchSealed, sub_id, 80)
    clock.advance(minutes=1)
    endpoint.wait_for(81, timeout=20)

    assert received_ids(endpoint)[1:] == [f"e{i:03d}" for i in range(80)]
    attempts = wait_for_facts(system, AttemptRecorded, sub_id, 81)
    assert [a.outcome for a in attempts].count("succeeded") == 80


def test_a_batch_sealed_by_count_leaves_the_next_one_its_whole_flush_interval(
    system, endpoints, clock
):
    endpoint = endpoints(Reply(200))
    subscribe(system, endpoint, max_events=2, flush_interval="20m")
    system.publish(event("a"))  # its batch's flush is armed for 20m from now
    system.routed(timeout=5)
    clock.advance(minutes=1)
    system.publish([event("b"), event("c")])
    endpoint.wait_for(1)  # a and b: sealed by count; c starts a batch of its own
    clock.advance(minutes=19)
    system.settled()
    assert received_ids(endpoint) == ["a", "b"]
    clock.advance(minutes=1)
    endpoint.wait_for(2)
    assert received_ids(endpoint) == ["a", "b", "c"]


@pytest.mark.parametrize("change", ["delete", "enable --from-now"])
def test_a_change_made_while_nothing_runs_cancels_the_backlog_at_the_next_start(
    database, endpoints, clock, change
):
    db, endpoint = database, endpoints(Reply(500))
    with WebhookSystem(db, clock=clock, allow_private_networks=True) as running:
        sub_id = subscribe(running, endpoint, max_events=1, retry_schedule="1h").subscription.id
        running.publish([event("a"), event("b")])
        wait_for_facts(running, AttemptRecorded, sub_id, 1)
    with WebhookSystem(db, deliver=False, clock=clock) as offline:
        if change == "delete":
            offline.subscriptions.delete(sub_id)
        else:
            offline.subscriptions.disable(sub_id)
            offline.subscriptions.enable(sub_id, from_now=True)
    with WebhookSystem(db, clock=clock, allow_private_networks=True) as running:
        cancelled = wait_for_facts(running, BatchCancelled, sub_id, 2)
        clock.advance(hours=2)
        running.settled()
        assert {c.batch_id for c in cancelled} == {
            s.batch_id for s in facts(running, BatchSealed, sub_id)
        }
        assert len(endpoint.requests) == 1
        assert {d.status for d in running.deliveries.list(subscription_id=sub_id)} == {"cancelled"}


def test_a_retry_asked_for_during_an_attempt_starts_a_new_series_once_it_ends(system, endpoints):
    endpoint = endpoints(Reply(200))
    endpoint.respond(Hang())
    sub_id = subscribe(
        system, endpoint, max_events=1, timeout="1s", retry_schedule="1h"
    ).subscription.id
    system.publish(event("a"))
    endpoint.wait_for(1)  # hanging: the attempt is in flight
    (sealed,) = facts(system, BatchSealed, sub_id)
    system.deliveries.retry(sealed.batch_id, force=True)

    endpoint.wait_for(2, timeout=10)  # after the timeout, at once: not an hour later
    attempts = wait_for_facts(system, AttemptRecorded, sub_id, 2)
    assert [(a.attempt, a.trigger, a.outcome) for a in attempts] == [
        (1, "schedule", "retrying"),
        (2, "retry", "succeeded"),
    ]


def test_events_published_while_nothing_runs_match_the_filter_of_their_time_at_the_next_start(
    database, endpoints, clock
):
    endpoint = endpoints()
    with WebhookSystem(database, deliver=False, clock=clock, allow_private_networks=True) as off:
        sub_id = subscribe(off, endpoint, context="ctx_a", max_events=1).subscription.id
        off.publish([event("a-before", context_id="ctx_a"), event("b-before", context_id="ctx_b")])
        off.subscriptions.update(sub_id, context="ctx_b")
        off.publish([event("a-after", context_id="ctx_a"), event("b-after", context_id="ctx_b")])
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as running:
        wait_until(lambda: len(endpoint.requests) >= 2, "the backlog delivered")
        running.settled()
    assert received_ids(endpoint) == ["a-before", "b-after"]
