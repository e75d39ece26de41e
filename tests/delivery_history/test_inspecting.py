"""`deliveries list` and `deliveries show`: every attempt, the body sent, filters, and finding a
delivery by time, event or webhook-id."""

from __future__ import annotations

import datetime as dt
import json

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import format_time
from signin_webhooks.eventstore.subscriptions import REDACTED
from tests.delivery_history import delivery_of, statuses
from tests.endpoint import Reply, closed_port_url
from tests.helpers import event, header, ids, subscribe, wait_until


def test_a_failing_endpoint_delivery_shows_every_attempt_and_the_exact_body_sent(
    system, operator, endpoints, clock
):
    endpoint = endpoints(Reply(500, {"X-Trace": "t-1"}, b'{"error":"database down"}'))
    sub_id = subscribe(
        system,
        endpoint,
        max_events=2,
        retry_schedule="1m",
        headers={"Authorization": "Bearer t0k3n"},
    ).subscription.id
    published = system.publish([event("e1", guest={"name": "Zoë"}), event("e2")])
    delivery_of(operator, sub_id, status="retrying", attempt_count=1)
    sealed_at = format_time(clock.now)
    clock.advance(minutes=1)
    delivery_id = delivery_of(operator, sub_id, status="failed", attempt_count=2)["id"]

    shown = operator.json("deliveries", "show", delivery_id)
    first, second = endpoint.requests
    assert shown["body"].encode() == first.body == second.body  # byte for byte, UTF-8 kept
    assert ids(first) == ["e1", "e2"]
    assert {k: shown[k] for k in ("id", "subscription_id", "status", "trigger")} == {
        "id": delivery_id,
        "subscription_id": sub_id,
        "status": "failed",
        "trigger": "schedule",
    }
    assert (shown["event_count"], shown["first_sequence"], shown["last_sequence"]) == (
        2,
        published.first_sequence,
        published.last_sequence,
    )
    assert shown["bytes"] == len(first.body)
    assert shown["sealed_at"] == sealed_at
    assert shown["settled_at"] == format_time(clock.now)
    assert shown["next_attempt_at"] is None
    attempts = shown["attempts"]
    assert [a["number"] for a in attempts] == [1, 2]
    assert [a["trigger"] for a in attempts] == ["schedule", "schedule"]
    assert [a["outcome"] for a in attempts] == ["retrying", "failed"]
    assert [a["next_attempt_at"] for a in attempts] == [format_time(clock.now), None]
    for attempt, request in zip(attempts, endpoint.requests, strict=True):
        assert attempt["url"] == endpoint.url_for("/hook")
        assert (attempt["response_status"], attempt["error_kind"]) == (500, "http_status")
        assert attempt["response_body"] == '{"error":"database down"}'
        assert attempt["response_headers"]["X-Trace"] == "t-1"
        sent = attempt["request_headers"]
        assert sent["webhook-id"] == header(request, "webhook-id") == delivery_id
        assert sent["webhook-signature"] == REDACTED
        assert sent["Authorization"] == REDACTED
        assert sent["Content-Type"] == "application/json"

    text = operator.ok("deliveries", "show", delivery_id)
    assert "attempt 1 (schedule)" in text and "attempt 2 (schedule)" in text
    assert text.count("  HTTP 500 Internal Server Error [http_status] -> ") == 2
    assert text.rstrip("\n").endswith("body sent:\n" + first.body.decode())
    for secret in (
        "t0k3n",
        header(first, "webhook-signature"),
        header(second, "webhook-signature"),
    ):
        assert secret not in text and secret not in json.dumps(shown)


def test_an_unreachable_endpoint_is_recorded_as_connection_refused(system, operator, clock):
    sub_id = subscribe(system, closed_port_url(), max_events=1, retry_schedule="1m").subscription.id
    system.publish(event("nobody-home"))
    delivery = delivery_of(operator, sub_id, status="retrying", attempt_count=1)

    (attempt,) = operator.json("deliveries", "show", delivery["id"])["attempts"]
    assert (attempt["response_status"], attempt["error_kind"]) == (None, "connection_refused")
    assert attempt["error"]


def test_deliveries_list_is_newest_first_and_filters_by_subscription_and_status(
    system, operator, endpoints, clock
):
    good, bad = endpoints(), endpoints(Reply(503))
    good_id = subscribe(system, good, max_events=1).subscription.id
    bad_id = subscribe(
        system, bad, max_events=1, retry_schedule="1m", context="ctx_hall"
    ).subscription.id
    for i in range(3):
        system.publish(event(f"g{i}"))
        good.wait_for(i + 1)
        clock.advance(seconds=1)
    wait_until(lambda: statuses(operator, good_id) == ["succeeded"] * 3, "three deliveries")
    system.publish(event("b0", context_id="ctx_hall"))
    delivery_of(operator, bad_id, attempt_count=1)
    clock.advance(minutes=1)
    delivery_of(operator, bad_id, status="failed")

    everything = operator.json("deliveries", "list")
    assert [d["subscription_id"] for d in everything] == [bad_id, good_id, good_id, good_id]
    assert [d["sealed_at"] for d in everything] == sorted(
        (d["sealed_at"] for d in everything), reverse=True
    )
    webhook_ids = [header(r, "webhook-id") for r in good.requests]
    goods = operator.json("deliveries", "list", "--subscription", good_id)
    assert [d["id"] for d in goods] == webhook_ids[::-1]
    assert {d["status"] for d in goods} == {"succeeded"}
    (failed,) = operator.json("deliveries", "list", "--status", "failed")
    assert (failed["subscription_id"], failed["attempt_count"]) == (bad_id, 2)
    assert (
        operator.json("deliveries", "list", "--subscription", good_id, "--status", "failed") == []
    )
    assert operator.json("deliveries", "list", "--subscription", "sub_unknown") == []

    table = operator.ok("deliveries", "list").splitlines()
    assert table[0].split() == [
        "ID", "SUBSCRIPTION", "STATUS", "TRIGGER", "EVENTS", "ATTEMPTS", "SEALED", "SETTLED/NEXT",
    ]  # fmt: skip
    assert [row.split()[0] for row in table[1:]] == [d["id"] for d in everything]
    assert table[1].split()[1:6] == [bad_id, "failed", "schedule", "1", "2"]
    assert "--status" in operator.refused("deliveries", "list", "--status", "lost")


def test_deliveries_list_finds_by_sealed_time_event_id_and_webhook_id(
    system, operator, endpoints, clock
):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=2).subscription.id
    system.publish([event("early_1"), event("early_2")])
    early = delivery_of(operator, sub_id, status="succeeded")
    clock.advance(hours=3)
    system.publish([event("late_1"), event("late_2")])
    late = delivery_of(operator, sub_id, count=2, status="succeeded")

    def ids(*args: str) -> list[str]:
        return [d["id"] for d in operator.json("deliveries", "list", *args)]

    assert ids("--since", "1h") == [late["id"]]
    assert ids("--until", "1h") == [early["id"]]
    assert ids("--since", "1d", "--until", "2h") == [early["id"]]
    assert ids("--since", format_time(clock.now - dt.timedelta(hours=4))) == [
        late["id"], early["id"],
    ]  # fmt: skip
    assert ids("--event", "early_2") == [early["id"]]
    assert ids("--event", "late_1", "--status", "succeeded") == [late["id"]]
    assert ids("--event", "never_published") == []
    assert ids("--webhook-id", early["id"]) == [early["id"]]
    assert "an RFC 3339 time" in operator.refused("deliveries", "list", "--since", "yesterday")
    with WebhookSystem(operator.db, deliver=False, clock=clock) as reader:
        found = reader.deliveries.list(since="1h", event_id="late_2")
    assert [d.id for d in found] == [late["id"]]


def test_replay_and_recover_take_times_ago(system, operator, endpoints, clock):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    system.publish(event("old"))
    clock.advance(hours=2)
    system.publish(event("new"))
    replayed = [json.loads(line)["id"] for line in operator.ok("replay", "--since", "1h").split()]
    assert replayed == ["new"]
    assert operator.ok("subscriptions", "recover", sub_id, "--since", "3h", "--dry-run") == (
        "2 events in the window\n"
    )
