"""`status`: whether run is up, and each subscription's backlog and health."""

from __future__ import annotations

import os

from signin_webhooks.eventstore import format_time
from tests.delivery_history import delivery_of, statuses
from tests.endpoint import Reply
from tests.helpers import event, subscribe, wait_until


def test_status_shows_whether_run_is_up_and_each_subscription_s_backlog_and_health(
    systems, operator, endpoints, clock, backend
):
    assert operator.ok("status").splitlines()[0] == "run: not running"
    system = systems.start()
    healthy, broken = endpoints(), endpoints(Reply(500))
    healthy_id = subscribe(system, healthy, name="healthy", max_events=1).subscription.id
    broken_id = subscribe(
        system, broken, name="broken", max_events=1, retry_schedule="1h", context="ctx_b"
    ).subscription.id
    slow_id = subscribe(
        system, healthy, name="slow", context="ctx_slow", flush_interval="1h"
    ).subscription.id
    succeeded_at = format_time(clock.now)
    system.publish(event("fine"))
    delivery_of(operator, healthy_id, status="succeeded")
    clock.advance(minutes=5)
    failing_since = format_time(clock.now)
    system.publish([event("b1", context_id="ctx_b"), event("b2", context_id="ctx_b")])
    wait_until(
        lambda: statuses(operator, broken_id) == ["pending", "retrying"], "b1 failed, b2 queued"
    )
    system.publish([event("s1", context_id="ctx_slow"), event("s2", context_id="ctx_slow")])
    clock.advance(minutes=3)

    status = operator.json("status")
    assert status["running"] is True
    assert str(os.getpid()) in status["holder"]
    rows = {r["subscription_id"]: r for r in status["subscriptions"]}
    assert rows[healthy_id] | {"subscription_id": None} == {
        "subscription_id": None,
        "name": "healthy",
        "state": "enabled",
        "health": "healthy",
        "backlog": 0,
        "oldest_undelivered_age": None,
        "failed": 0,
        "last_success": succeeded_at,
        "failing_since": None,
        "backoff": None,
        "backoff_until": None,
    }
    assert (rows[broken_id]["backlog"], rows[broken_id]["oldest_undelivered_age"]) == (2, "3m")
    assert (rows[broken_id]["last_success"], rows[broken_id]["failing_since"]) == (
        None,
        failing_since,
    )
    assert rows[broken_id]["health"] == "failing"
    assert (rows[slow_id]["backlog"], rows[slow_id]["oldest_undelivered_age"]) == (2, "3m")
    text = operator.ok("status").splitlines()
    # One `run` holds a SQLite file; on PostgreSQL each `run` is a worker, named with its share.
    assert text[0].startswith("run: up (pid " if backend == "sqlite" else "run: up (1 worker (")
    text = [line for line in text if not line.startswith("worker ")]  # PostgreSQL's workers
    assert text[1].split() == [
        "SUBSCRIPTION", "NAME", "HEALTH", "BACKLOG", "OLDEST", "FAILED", "LAST", "SUCCESS",
        "FAILING", "SINCE", "BACKOFF", "UNTIL",
    ]  # fmt: skip
    expected = [broken_id, "broken", "failing", "2", "3m", "0"]
    assert any(line.split()[:6] == expected for line in text)

    systems.stop()
    stopped = operator.json("status")
    assert (stopped["running"], stopped["holder"]) == (False, None)
    assert operator.ok("status").splitlines()[0] == "run: not running"
