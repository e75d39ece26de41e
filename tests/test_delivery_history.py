"""Delivery history and the operator's tools, as an operator uses them: a running WebhookSystem
on a ManualClock, real HTTP endpoints on 127.0.0.1, and the `signin-webhooks` commands run
against the same database file. The commands run on the test's clock too, so the times they
record and compare line up with the system's; time passes by advancing it, never by sleeping.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.system import ENV_DB
from signin_webhooks.cli import app as cli_app
from signin_webhooks.eventstore import EventCounts, Store, format_time
from signin_webhooks.eventstore.deliveries import DeliveryHistory
from signin_webhooks.eventstore.subscriptions import REDACTED
from tests.backends import BACKENDS
from tests.endpoint import Endpoint, Reply, closed_port_url
from tests.helpers import (
    create_subscription,
    event,
    fields_of,
    header,
    ids,
    invoke,
    one_error_line,
    received_ids,
    wait_until,
)

HISTORY_TABLES = ("deliveries", "attempts", "batch_positions")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here that opens a store runs on each backend."""
    return request.param


# -- helpers


@pytest.fixture
def db(database: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Path:
    """The database (a file, or a PostgreSQL schema); the command line opens it on the test's
    clock."""

    class OnTestClock(WebhookSystem):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, clock=clock, **kwargs)

    monkeypatch.setattr(cli_app, "WebhookSystem", OnTestClock)
    monkeypatch.delenv(ENV_DB, raising=False)
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    path = database
    WebhookSystem(path, deliver=False).store.close()  # empty, as after a first write
    return path


class Operator:
    """Runs `signin-webhooks --db <db> --allow-private-networks ...` in this process."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(self, *args: str) -> Result:
        return invoke("--db", str(self.db), "--allow-private-networks", *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str, code: int = 2) -> str:
        """The one error line of a refused command, without its prefix."""
        result = self(*args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return one_error_line(result.stderr, result.stdout)


@pytest.fixture
def operator(db: Path) -> Operator:
    return Operator(db)


class Systems:
    """Starts and stops the running system on the test's database, as `run` would."""

    def __init__(self, db: Path, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.running: WebhookSystem | None = None

    def start(self) -> WebhookSystem:
        assert self.running is None
        self.running = WebhookSystem(self.db, clock=self.clock, allow_private_networks=True)
        return self.running.start()

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


@pytest.fixture
def systems(db: Path, clock: ManualClock, endpoints: Any) -> Iterator[Systems]:
    """The running system; stopped before the endpoints (set up first) are."""
    found = Systems(db, clock)
    yield found
    found.stop()


@pytest.fixture
def system(systems: Systems) -> WebhookSystem:
    return systems.start()


def subscribe(system: WebhookSystem, endpoint: Endpoint | str, **fields: Any) -> str:
    """A context subscription on ctx_lobby unless told otherwise; its id."""
    return create_subscription(system, endpoint, **fields).subscription.id


def delivery_of(operator: Operator, sub_id: str, count: int = 1, **expected: Any) -> dict[str, Any]:
    """Wait until the subscription has `count` deliveries, the newest showing `expected`."""

    def check() -> dict[str, Any] | None:
        found = operator.json("deliveries", "list", "--subscription", sub_id)
        if len(found) == count and all(found[0][k] == v for k, v in expected.items()):
            return found[0]
        return None

    return wait_until(check, f"{count} deliveries of {sub_id}, the newest with {expected}")


def statuses(operator: Operator, sub_id: str) -> list[str]:
    return sorted(
        d["status"] for d in operator.json("deliveries", "list", "--subscription", sub_id)
    )


def failed_delivery(
    system: WebhookSystem, operator: Operator, clock: ManualClock, endpoint: Endpoint, **fields
) -> tuple[str, str]:
    """A subscription whose delivery of one event failed twice, for good: its id, the delivery's."""
    sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1m", **fields)
    system.publish(event("doomed"))
    delivery_of(operator, sub_id, status="retrying", attempt_count=1)
    clock.advance(minutes=1)
    delivery = delivery_of(operator, sub_id, status="failed", attempt_count=2)
    return sub_id, delivery["id"]


def history_tables(db: Path, *, rebuild: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of the delivery history, as kept live, or rebuilt from the log."""
    store = Store(db)
    try:
        if rebuild:
            store.projector.rebuild(DeliveryHistory())
        conn = store.project(DeliveryHistory())
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in HISTORY_TABLES}
    finally:
        store.close()


def assert_rebuild_equals_live(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    live = history_tables(db)
    assert history_tables(db, rebuild=True) == live
    return live


# -- inspecting deliveries


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
    )
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
    sub_id = subscribe(system, closed_port_url(), max_events=1, retry_schedule="1m")
    system.publish(event("nobody-home"))
    delivery = delivery_of(operator, sub_id, status="retrying", attempt_count=1)

    (attempt,) = operator.json("deliveries", "show", delivery["id"])["attempts"]
    assert (attempt["response_status"], attempt["error_kind"]) == (None, "connection_refused")
    assert attempt["error"]


def test_deliveries_list_is_newest_first_and_filters_by_subscription_and_status(
    system, operator, endpoints, clock
):
    good, bad = endpoints(), endpoints(Reply(503))
    good_id = subscribe(system, good, max_events=1)
    bad_id = subscribe(system, bad, max_events=1, retry_schedule="1m", context="ctx_hall")
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


# -- retry


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
    ok_id = subscribe(system, healthy, max_events=1)
    gone_id = subscribe(system, gone, max_events=1, context="ctx_gone")
    flaky_id = subscribe(system, flaky, max_events=1, context="ctx_flaky", retry_schedule="1h")
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
        sub_id = subscribe(offline, endpoints())
    operator.ok("subscriptions", "test", sub_id)
    (test,) = operator.json("deliveries", "list")
    assert "subscriptions test" in operator.refused("deliveries", "retry", test["id"], "--force")


# -- subscriptions test


def test_subscriptions_test_sends_one_synthetic_event_now_without_the_pipeline(
    db, operator, endpoints, clock
):
    endpoint = endpoints(Reply(200, body=b"got it"))
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(offline, endpoint, events=["signin.dhcp.*"], flush_interval="1h")

    shown = fields_of(operator.ok("subscriptions", "test", sub_id))
    (request,) = endpoint.requests
    (sent,) = json.loads(request.body)
    assert sent["type"].startswith("signin.dhcp.")
    assert sent["test"] is True
    assert (sent["context_id"], sent["organization_id"]) == ("ctx_lobby", "test")
    assert header(request, "webhook-id") == shown["delivery"]
    assert shown["status"] == "succeeded"
    assert shown["result"] == "HTTP 200"
    assert shown["response_body"] == "got it"

    (recorded,) = operator.json("deliveries", "list")
    assert (recorded["id"], recorded["trigger"], recorded["status"]) == (
        shown["delivery"],
        "test",
        "succeeded",
    )
    details = operator.json("deliveries", "show", recorded["id"])
    assert details["body"].encode() == request.body
    [attempt] = details["attempts"]
    assert (attempt["trigger"], attempt["response_status"], attempt["error_kind"]) == (
        "test",
        200,
        None,
    )
    assert attempt["request_headers"]["webhook-signature"] == REDACTED

    typed = operator.json("subscriptions", "test", sub_id, "--type", "signin.session.created")
    assert json.loads(endpoint.wait_for(2)[1].body)[0]["type"] == "signin.session.created"
    assert typed["trigger"] == "test"
    assert len(operator.json("deliveries", "list", "--subscription", sub_id)) == 2


def test_subscriptions_test_against_a_failing_endpoint_exits_1_and_records_the_failure(
    db, operator, endpoints
):
    endpoint = endpoints(Reply(502, body=b"bad gateway"))
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(offline, endpoint, retry_schedule="1m")
        refused_id = subscribe(offline, closed_port_url(), context="ctx_closed")

    result = operator("subscriptions", "test", sub_id)
    assert result.exit_code == 1
    shown = fields_of(result.stdout)
    assert (shown["status"], shown["result"], shown["response_body"]) == (
        "failed",
        "HTTP 502 Bad Gateway",
        "bad gateway",
    )
    assert len(endpoint.requests) == 1  # a test is sent once, never retried
    (recorded,) = operator.json("deliveries", "list", "--status", "failed")
    assert (recorded["trigger"], recorded["attempt_count"]) == ("test", 1)
    [attempt] = operator.json("deliveries", "show", recorded["id"])["attempts"]
    assert (attempt["response_status"], attempt["error_kind"]) == (502, "http_status")

    result = operator("subscriptions", "test", refused_id)
    assert result.exit_code == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert fields_of(result.stdout)["status"] == "failed"
    (refused,) = operator.json("deliveries", "list", "--subscription", refused_id)
    [attempt] = operator.json("deliveries", "show", refused["id"])["attempts"]
    assert attempt["error_kind"] == "connection_refused"


# -- recover


def test_recover_resends_exactly_the_matching_events_of_the_window(
    system, operator, endpoints, clock
):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, events=["signin.session.*"], max_events=1)
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
    sub_id = subscribe(system, endpoint)
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
    sub_id = subscribe(system, endpoint, max_events=1)
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


# -- retention


def test_retention_removes_exactly_the_deliveries_settled_longer_ago_than_the_horizon(
    systems, operator, endpoints, clock, db
):
    system = systems.start()
    assert operator.ok("settings", "set", "delivery_retention", "1h").strip() == (
        "delivery_retention: 1h"
    )
    good, bad, flaky = endpoints(), endpoints(Reply(500)), endpoints(Reply(500))
    good_id = subscribe(system, good, max_events=1)
    bad_id = subscribe(system, bad, max_events=1, retry_schedule="1m", context="ctx_bad")
    flaky_id = subscribe(system, flaky, max_events=1, retry_schedule="10h", context="ctx_flaky")
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
    sub_id = subscribe(system, endpoint, max_events=1)
    system.publish(event("short-lived"))
    delivery_of(operator, sub_id, status="succeeded")
    clock.advance(minutes=50)
    system.settled()
    assert len(operator.json("deliveries", "list")) == 1
    clock.advance(minutes=20)
    wait_until(lambda: operator.json("deliveries", "list") == [], "the timer's expiry")


# -- log compaction


def test_compaction_removes_old_delivered_events_and_keeps_what_is_still_needed(
    systems, operator, endpoints, clock, db
):
    system = systems.start()
    operator.ok("settings", "set", "delivery_retention", "1h")
    assert operator.ok("settings", "set", "log_retention", "1h").strip() == "log_retention: 1h"
    done, down, quiet_url = endpoints(), endpoints(Reply(500)), endpoints()
    done_id = subscribe(system, done, max_events=1)
    system.publish([event("a1"), event("a2")])
    wait_until(lambda: statuses(operator, done_id) == ["succeeded"] * 2, "a1 and a2 delivered")
    down_id = subscribe(system, down, max_events=1, retry_schedule="10h", context="ctx_down")
    system.publish(event("unsettled", context_id="ctx_down"))
    delivery_of(operator, down_id, status="retrying")
    unbatched_id = subscribe(system, quiet_url, flush_interval="10h", context="ctx_slow")
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
    busy_id = subscribe(system, busy, max_events=1)
    system.publish([event("b1"), event("b2")])
    wait_until(lambda: statuses(operator, busy_id) == ["succeeded"] * 2, "b1 and b2 delivered")
    systems.stop()

    clock.advance(hours=2)
    assert operator.json("retention")["compacted_events"] == 2
    assert operator.ok("replay") == ""


# -- status


def test_status_shows_whether_run_is_up_and_each_subscription_s_backlog_and_health(
    systems, operator, endpoints, clock, backend
):
    assert operator.ok("status").splitlines()[0] == "run: not running"
    system = systems.start()
    healthy, broken = endpoints(), endpoints(Reply(500))
    healthy_id = subscribe(system, healthy, name="healthy", max_events=1)
    broken_id = subscribe(
        system, broken, name="broken", max_events=1, retry_schedule="1h", context="ctx_b"
    )
    slow_id = subscribe(system, healthy, name="slow", context="ctx_slow", flush_interval="1h")
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
        "FAILING", "SINCE",
    ]  # fmt: skip
    expected = [broken_id, "broken", "failing", "2", "3m", "0"]
    assert any(line.split()[:6] == expected for line in text)

    systems.stop()
    stopped = operator.json("status")
    assert (stopped["running"], stopped["holder"]) == (False, None)
    assert operator.ok("status").splitlines()[0] == "run: not running"


# -- refusals: one clear line, never a traceback


def test_the_installed_command_reports_an_unknown_delivery_in_one_line(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIN_WEBHOOKS")}
    database = str(tmp_path / "fresh.db")
    WebhookSystem(database, deliver=False).store.close()
    for args, code in (
        (["deliveries", "show", "dlv_nope"], 2),
        (["subscriptions", "recover", "sub_nope", "--since", "yesterday"], 2),
        (["status"], 0),
    ):
        done = subprocess.run(
            [command, "--db", database, *args], env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.splitlines()) == (1 if code else 0)


@pytest.mark.parametrize(
    "args",
    [
        ["deliveries", "show", "dlv_nope"],
        ["deliveries", "retry", "dlv_nope"],
        ["deliveries", "retry", "dlv_nope", "--force"],
        ["subscriptions", "test", "sub_nope"],
        ["subscriptions", "recover", "sub_nope", "--since", "2026-01-01T00:00:00Z"],
        ["subscriptions", "recover", "sub_nope", "--since", "yesterday"],
        ["deliveries", "list", "--status", "lost"],
        ["replay", "--since", "yesterday"],
        ["settings", "set", "delivery_retention", "forever"],
        ["settings", "set", "log_retention", "-1h"],
    ],
)
def test_on_an_empty_database_a_bad_request_is_one_clear_line(operator, args) -> None:
    operator.refused(*args)


@pytest.mark.parametrize(
    "args",
    [
        ["deliveries", "list", "--json"],
        ["deliveries", "list", "--subscription", "sub_nope", "--json"],
        ["status", "--json"],
        ["retention", "--json"],
        ["retention", "--dry-run", "--json"],
        ["replay", "--stats", "--json"],
    ],
)
def test_reading_and_retention_commands_work_on_an_empty_database(operator, args) -> None:
    shown = json.loads(operator.ok(*args))
    if args[0] == "status":
        assert shown == {"running": False, "holder": None, "workers": [], "subscriptions": []}
    elif args[0] == "retention":
        assert (shown["expired_deliveries"], shown["compacted_events"]) == (0, 0)
    else:
        assert shown == []


def test_malformed_times_and_windows_are_refused_with_one_line(db, operator, endpoints) -> None:
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(offline, endpoints())
    recover = ("subscriptions", "recover", sub_id)
    assert "--since 'yesterday'" in operator.refused(*recover, "--since", "yesterday")
    assert "--until" in operator.refused(
        *recover, "--since", "2026-01-31T09:00:00Z", "--until", "noon"
    )
    assert "time zone" in operator.refused(*recover, "--since", "2026-01-31T09:00:00")
    assert "later" in operator.refused(
        *recover, "--since", "2026-01-31T09:00:00Z", "--until", "2026-01-30T09:00:00Z"
    )
    assert "--since" in operator.refused(*recover)
    assert "no subscription" in operator.refused("subscriptions", "test", "sub_nope")
    assert "--type" in operator.refused("subscriptions", "test", sub_id, "--type", "signin.nope")


# -- finding deliveries: by time, relative or not, by event, by webhook-id


def test_deliveries_list_finds_by_sealed_time_event_id_and_webhook_id(
    system, operator, endpoints, clock
):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=2)
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
    sub_id = subscribe(system, endpoint, max_events=1)
    system.publish(event("old"))
    clock.advance(hours=2)
    system.publish(event("new"))
    replayed = [json.loads(line)["id"] for line in operator.ok("replay", "--since", "1h").split()]
    assert replayed == ["new"]
    assert operator.ok("subscriptions", "recover", sub_id, "--since", "3h", "--dry-run") == (
        "2 events in the window\n"
    )


# -- a new subscription started earlier than its creation


def test_create_from_sequence_or_since_sends_what_the_log_already_holds_once(
    system, operator, endpoints, clock
):
    early, late = endpoints(), endpoints()
    system.publish([event("e1"), event("e2")])
    clock.advance(hours=3)
    third = system.publish(event("e3")).first_sequence
    base = ["subscriptions", "create", "--name", "n", "--context", "ctx_lobby", "--json"]
    base += ["--max-events", "1", "--flush-interval", "0"]
    result = operator(*base, "--url", early.url_for("/hook"), "--from-sequence", str(third - 1))
    assert result.exit_code == 0, result.stderr
    assert "2 events already in the log requested for it" in result.stderr
    result = operator(*base, "--url", late.url_for("/hook"), "--since", "1h")
    assert "1 events already in the log requested for it" in result.stderr
    system.publish(event("e4"))
    assert received_ids(wait_until(lambda: len(early.requests) == 3 and early, "3")) == [
        "e2", "e3", "e4",
    ]  # fmt: skip
    assert [i for r in late.wait_for(2) for i in ids(r)] == ["e3", "e4"]
    assert "--from-sequence" in operator.refused(*base, "--url", early.url, "--since", "1h",
                                                  "--from-sequence", "1")  # fmt: skip


def test_an_event_published_as_a_subscription_is_created_from_a_sequence_comes_after_the_backlog(
    system, endpoints
):
    endpoint = endpoints()
    system.publish([event("e1"), event("e2")])
    ledger = system.subscriptions.ledger
    wake, published = ledger.wake, list[Any]()

    def publish_once_recorded() -> None:  # the first moment another publisher could append
        if not published:
            published.append("live")
            system.publish(event("live"))
        wake()

    ledger.wake = publish_once_recorded
    try:
        subscribe(system, endpoint, from_sequence=1, max_events=1, flush_interval=0)
    finally:
        ledger.wake = wake
    assert published
    assert [i for r in endpoint.wait_for(3) for i in ids(r)] == ["e1", "e2", "live"]


def test_create_says_a_new_subscription_receives_what_is_published_after_it() -> None:
    shown = " ".join(invoke("subscriptions", "create", "--help").stdout.split())
    assert "receives the events published after it is created" in shown
    assert "--from-sequence N" in shown and "--since TIME" in shown
