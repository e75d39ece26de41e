"""Retention of settled deliveries and compaction of the log."""

from __future__ import annotations

import datetime as dt
import json

from signin_webhooks.eventstore import EventCounts, Store, format_time
from tests.delivery_history import assert_rebuild_equals_live, delivery_of, history_tables, statuses
from tests.endpoint import Reply
from tests.helpers import event, fields_of, ids, subscribe, wait_until


def test_retention_removes_exactly_the_deliveries_settled_longer_ago_than_the_horizon(
    systems, operator, endpoints, clock, db
):
    system = systems.start()
    assert operator.ok("settings", "set", "delivery_retention", "1h").strip() == (
        "delivery_retention: 1h"
    )
    good, bad, flaky = endpoints(), endpoints(Reply(500)), endpoints(Reply(500))
    good_id = subscribe(system, good, max_events=1).subscription.id
    bad_id = subscribe(
        system, bad, max_events=1, retry_schedule="1m", context="ctx_bad"
    ).subscription.id
    flaky_id = subscribe(
        system, flaky, max_events=1, retry_schedule="10h", context="ctx_flaky"
    ).subscription.id
    system.publish(event("old-ok"))
    old_ok = delivery_of(operator, good_id, status="succeeded")["id"]
    system.publish(event("old-failed", context_id="ctx_bad"))
    delivery_of(operator, bad_id, attempt_count=1)
    clock.advance(minutes=1)
    old_failed = delivery_of(operator, bad_id, status="failed")["id"]  # settled at +1m
    clock.advance(minutes=30)
    system.publish(event("recent-ok"))
    recent_ok = delivery_of(operator, good_id, 2, status="succeeded")["id"]
    system.publish(event("retrying", context_id="ctx_flaky"))
    retrying = delivery_of(operator, flaky_id, status="retrying")["id"]
    systems.stop()  # the running system's own timer would expire them first
    before = assert_rebuild_equals_live(db)
    everything = {d["id"] for d in operator.json("deliveries", "list")}
    assert everything == {old_ok, old_failed, recent_ok, retrying}

    clock.advance(minutes=30, seconds=1)  # old_failed settled 1h0m1s ago, recent_ok 30m1s ago
    dry = fields_of(operator.ok("retention", "--dry-run"))
    assert dry["dry_run"] == "true"
    assert dry["expired_deliveries"] == "2"
    assert dry["compacted_events"] == "0"
    assert {d["id"] for d in operator.json("deliveries", "list")} == everything
    assert history_tables(db) == before

    done = operator.json("retention")
    assert (done["dry_run"], done["expired_deliveries"]) == (False, 2)
    assert done["settled_before"] == format_time(clock.now - dt.timedelta(hours=1))
    assert {d["id"] for d in operator.json("deliveries", "list")} == {recent_ok, retrying}
    for expired in (old_ok, old_failed):
        assert "no delivery" in operator.refused("deliveries", "show", expired)
    after = assert_rebuild_equals_live(db)
    assert {row[0] for row in after["attempts"]} == {recent_ok, retrying}
    assert after["batch_positions"] == before["batch_positions"]
    assert operator.json("retention")["expired_deliveries"] == 0

    # Expiry is an event in the log, and the events delivered are still there.
    audit = [json.loads(line) for line in operator.ok("replay", "--all").splitlines()]
    (expiry,) = [e for e in audit if e["type"] == "deliveries.expired"]
    assert set(expiry["batch_ids"]) == {old_ok, old_failed}
    assert {"old-ok", "old-failed", "recent-ok", "retrying"} <= {e["id"] for e in audit}

    # The retrying delivery stays however old, until it settles.
    clock.advance(hours=5)
    assert operator.json("retention")["expired_deliveries"] == 1  # recent_ok
    assert [d["id"] for d in operator.json("deliveries", "list")] == [retrying]
    assert_rebuild_equals_live(db)


def test_the_running_system_expires_settled_deliveries_on_its_own(
    system, operator, endpoints, clock
):
    operator.ok("settings", "set", "delivery_retention", "1h")
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    system.publish(event("short-lived"))
    delivery_of(operator, sub_id, status="succeeded")
    clock.advance(minutes=50)
    system.settled()
    assert len(operator.json("deliveries", "list")) == 1
    clock.advance(minutes=20)
    wait_until(lambda: operator.json("deliveries", "list") == [], "the timer's expiry")


def test_compaction_removes_old_delivered_events_and_keeps_what_is_still_needed(
    systems, operator, endpoints, clock, db
):
    system = systems.start()
    operator.ok("settings", "set", "delivery_retention", "1h")
    assert operator.ok("settings", "set", "log_retention", "1h").strip() == "log_retention: 1h"
    done, down, quiet_url = endpoints(), endpoints(Reply(500)), endpoints()
    done_id = subscribe(system, done, max_events=1).subscription.id
    system.publish([event("a1"), event("a2")])
    wait_until(lambda: statuses(operator, done_id) == ["succeeded"] * 2, "a1 and a2 delivered")
    down_id = subscribe(
        system, down, max_events=1, retry_schedule="10h", context="ctx_down"
    ).subscription.id
    system.publish(event("unsettled", context_id="ctx_down"))
    delivery_of(operator, down_id, status="retrying")
    unbatched_id = subscribe(
        system, quiet_url, flush_interval="10h", context="ctx_slow"
    ).subscription.id
    system.publish([event("unbatched", context_id="ctx_slow"), event("a3")])
    wait_until(lambda: statuses(operator, done_id) == ["succeeded"] * 3, "a3 delivered")
    systems.stop()  # compaction on demand; the running system's timer is tested elsewhere
    audit = [json.loads(line)["sequence"] for line in operator.ok("replay", "--all").splitlines()]

    clock.advance(hours=1, minutes=1)
    stats = operator.json("replay", "--stats")
    dry = operator.json("retention", "--dry-run")
    assert (dry["expired_deliveries"], dry["compacted_events"]) == (3, 2)
    replayed = [json.loads(line)["id"] for line in operator.ok("replay").splitlines()]
    assert replayed == ["a1", "a2", "unsettled", "unbatched", "a3"]
    assert len(operator.json("deliveries", "list")) == 4

    report = operator.json("retention")
    assert (report["expired_deliveries"], report["compacted_events"]) == (3, 2)
    replayed = [json.loads(line) for line in operator.ok("replay").splitlines()]
    assert [e["id"] for e in replayed] == ["unsettled", "unbatched", "a3"]
    assert report["compacted_through_sequence"] < replayed[0]["sequence"]
    assert operator.json("replay", "--stats") == stats
    store = Store(db)
    try:
        store.projector.rebuild(EventCounts())
    finally:
        store.close()
    assert operator.json("replay", "--stats") == stats
    assert_rebuild_equals_live(db)
    assert operator.json("retention")["compacted_events"] == 0

    # Sequences are never reused, and what compaction kept is still delivered.
    system = systems.start()
    assert system.publish(event("a4")).first_sequence > max(audit)
    done.wait_for(4)
    down.set_default(Reply(200))
    clock.advance(hours=10)
    assert ids(down.wait_for(2)[1]) == ["unsettled"]
    delivery_of(operator, unbatched_id, status="succeeded")
    assert [i for r in quiet_url.requests for i in ids(r)] == ["unbatched"]


def test_a_quiet_subscription_does_not_hold_compaction_back(systems, operator, endpoints, clock):
    system = systems.start()
    operator.ok("settings", "set", "delivery_retention", "1h")
    operator.ok("settings", "set", "log_retention", "1h")
    busy = endpoints()
    subscribe(system, endpoints(), context="ctx_quiet")  # no event of its context ever comes
    busy_id = subscribe(system, busy, max_events=1).subscription.id
    system.publish([event("b1"), event("b2")])
    wait_until(lambda: statuses(operator, busy_id) == ["succeeded"] * 2, "b1 and b2 delivered")
    systems.stop()

    clock.advance(hours=2)
    assert operator.json("retention")["compacted_events"] == 2
    assert operator.ok("replay") == ""
