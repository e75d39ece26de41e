"""`subscriptions recover`: resending the matching events of a window."""

from __future__ import annotations

from signin_webhooks.eventstore import format_time
from tests.helpers import event, header, ids, received_ids, subscribe, wait_until


def test_recover_resends_exactly_the_matching_events_of_the_window(
    system, operator, endpoints, clock
):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, events=["signin.session.*"], max_events=1).subscription.id
    system.publish(event("before"))
    clock.advance(minutes=10)
    since = format_time(clock.now)
    system.publish(
        [
            event("w1"),
            event("w-dhcp", "signin.dhcp.granted"),  # a type it does not take
            event("w-hall", context_id="ctx_hall"),  # another context
            event("w2", "signin.session.verified"),
        ]
    )
    clock.advance(minutes=10)
    until = format_time(clock.now)  # excluded
    system.publish(event("after"))
    endpoint.wait_for(4)
    system.settled()
    assert received_ids(endpoint) == ["before", "w1", "w2", "after"]

    window = ("subscriptions", "recover", sub_id, "--since", since, "--until", until)
    assert operator.ok(*window, "--dry-run").strip() == "2 events in the window"
    system.settled()
    assert len(endpoint.requests) == 4

    said = operator.ok(*window)
    assert said.strip() == "recovery of 2 events requested; `run` sends them"
    endpoint.wait_for(6)
    system.settled()
    recovered = endpoint.requests[4:]
    assert [ids(r) for r in recovered] == [["w1"], ["w2"]]  # in new batches, max_events each
    earlier = {header(r, "webhook-id") for r in endpoint.requests[:4]}
    assert not earlier & {header(r, "webhook-id") for r in recovered}
    deliveries = wait_until(
        lambda: [
            d
            for d in operator.json("deliveries", "list", "--subscription", sub_id)
            if d["trigger"] == "recover" and d["status"] == "succeeded"
        ],
        "the recovery delivered",
    )
    assert sorted(d["id"] for d in deliveries) == sorted(header(r, "webhook-id") for r in recovered)
    for delivery in deliveries:
        attempts = operator.json("deliveries", "show", delivery["id"])["attempts"]
        assert [a["trigger"] for a in attempts] == ["recover"]

    # Without --until the window runs to now.
    said = operator.ok("subscriptions", "recover", sub_id, "--since", since)
    assert said.strip() == "recovery of 3 events requested; `run` sends them"
    endpoint.wait_for(9)
    system.settled()
    assert [i for r in endpoint.requests[6:] for i in ids(r)] == ["w1", "w2", "after"]


def test_recover_of_an_empty_window_sends_nothing(system, operator, endpoints, clock):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint).subscription.id
    system.publish(event("old"))
    clock.advance(minutes=5)
    said = operator.ok("subscriptions", "recover", sub_id, "--since", format_time(clock.now))
    assert said.strip() == "0 events in the window; nothing to send"
    assert operator.json("deliveries", "list") == []


def test_recover_without_a_running_system_waits_for_run_which_then_carries_it_out(
    systems, operator, endpoints, clock
):
    endpoint = endpoints()
    system = systems.start()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    since = format_time(clock.now)
    system.publish([event("r1"), event("r2")])
    endpoint.wait_for(2)
    systems.stop()

    said = operator.ok("subscriptions", "recover", sub_id, "--since", since)
    assert said.strip() == "recovery of 2 events requested; it waits for `signin-webhooks run`"
    running = systems.start()
    endpoint.wait_for(3)
    running.settled()
    assert [i for r in endpoint.requests[2:] for i in ids(r)] == ["r1", "r2"]
