"""Every fault of the fault-injecting endpoint, through the running pipeline.

For each fault: the attempt is recorded with the error kind SPEC names, the delivery is retried
on its schedule or not (the ManualClock is advanced past the retry time, never slept through),
and a healthy subscription beside it, on its own endpoint, gets every event meanwhile.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.eventstore import parse_time
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from tests.endpoint import (
    Behaviour,
    Endpoint,
    Hang,
    Huge,
    Malformed,
    Reply,
    Reset,
    Trickle,
    closed_port_url,
)
from tests.helpers import event, received_ids, wait_until

TIMEOUT = 1.0  # each faulty subscription's attempt deadline, in real seconds
SCHEDULE = (60.0, 120.0)  # "1m,2m"


@dataclass(frozen=True)
class Fault:
    behaviour: Behaviour | None  # None: a port nothing listens on
    error_kind: str | None
    status: int | None
    outcome: str  # the delivery's status after the first attempt
    retry_in: float | None  # seconds after the first attempt when the next one is due


FAULTS = {
    "connection-refused": Fault(None, "connection_refused", None, "retrying", 60),
    "reset-mid-request": Fault(Reset(), "connection_reset", None, "retrying", 60),
    "accept-never-answer": Fault(Hang(), "timeout", None, "retrying", 60),
    "trickle-byte-by-byte": Fault(Trickle(delay=0.1), "timeout", None, "retrying", 60),
    "500": Fault(Reply(500, body=b"down"), "http_status", 500, "retrying", 60),
    "302": Fault(
        Reply(302, headers={"Location": "http://127.0.0.1:9/elsewhere"}),
        "redirect",
        302,
        "retrying",
        60,
    ),
    "410-gone": Fault(Reply(410), "http_status", 410, "pending", None),
    "429-retry-after": Fault(
        Reply(429, headers={"Retry-After": "300"}), "http_status", 429, "retrying", 300
    ),
    "100-mb-body": Fault(Huge(100 * 1024 * 1024), None, 200, "succeeded", None),
    "malformed-http": Fault(Malformed(), "protocol", None, "retrying", 60),
}


def oldest_delivery(system: WebhookSystem, sub_id: str) -> Delivery | None:
    found = system.deliveries.list(subscription_id=sub_id)
    return min(found, key=lambda d: d.sealed_sequence) if found else None


def attempts_of(system: WebhookSystem, delivery_id: str, n: int) -> list[AttemptRecorded]:
    """The delivery's attempts once at least `n` are recorded."""
    return wait_until(
        lambda: found if len(found := system.deliveries.get(delivery_id)[1]) >= n else None,
        f"{n} recorded attempts of {delivery_id}",
        timeout=TIMEOUT + 5,
    )


@pytest.fixture
def healthy() -> Iterator[Endpoint]:
    with Endpoint(Reply(204)) as server:
        yield server


@pytest.fixture(params=list(FAULTS), ids=list(FAULTS))
def fault(request: pytest.FixtureRequest) -> Iterator[tuple[Fault, Endpoint | None, str]]:
    """The fault, the endpoint playing it (None for a refused connection) and the URL."""
    chosen = FAULTS[request.param]
    if chosen.behaviour is None:
        yield chosen, None, closed_port_url()
        return
    with Endpoint(chosen.behaviour) as server:
        yield chosen, server, server.url_for("/hook")


def test_each_fault_is_recorded_with_its_kind_retried_as_spec_says_and_others_undisturbed(
    system: WebhookSystem,
    clock: ManualClock,
    healthy: Endpoint,
    fault: tuple[Fault, Endpoint | None, str],
) -> None:
    expected, faulty, url = fault
    faulty_id = system.subscriptions.create(
        name="faulty",
        url=url,
        context="ctx_lobby",
        max_events=100,
        flush_interval="0",
        timeout=f"{TIMEOUT:g}s",
        retry_schedule="1m,2m",
    ).subscription.id
    healthy_id = system.subscriptions.create(
        name="healthy", url=healthy.url_for("/hook"), context="ctx_lobby", max_events=1
    ).subscription.id

    first = [event(f"first-{i}") for i in range(3)]
    system.publish(first)
    delivery = wait_until(lambda: oldest_delivery(system, faulty_id), "the faulty batch sealed")

    # The healthy subscription has its events while the faulty attempt is still going on.
    healthy.wait_for(3, timeout=TIMEOUT)
    (attempt,) = attempts_of(system, delivery.id, 1)
    assert (attempt.error_kind, attempt.status, attempt.outcome) == (
        expected.error_kind,
        expected.status,
        expected.outcome,
    ), attempt.error
    assert attempt.trigger == "schedule"
    if expected.error_kind is not None:
        assert attempt.error
    if expected.error_kind == "timeout":
        # The deadline holds, even against a trickle: the client hung up on an endpoint that
        # was not done, once the deadline had passed.
        assert faulty is not None and faulty.wait_served(1)[0].hung_up
        assert attempt.duration >= TIMEOUT
    if isinstance(expected.behaviour, Huge):
        assert len(attempt.response_body) == 64 * 1024  # read up to 64 KiB, the rest discarded
        assert faulty is not None
        served = faulty.wait_served(1)[0]
        assert served.hung_up and served.written < expected.behaviour.size // 4
    if faulty is not None:
        assert [obj["id"] for obj in json.loads(faulty.requests[0].body)] == [
            e["id"] for e in first
        ]

    # While the faulty delivery waits (for its retry or for good), more events come; the
    # healthy subscription gets them, the faulty one's next batch waits its turn.
    later = [event(f"later-{i}") for i in range(2)]
    system.publish(later)
    healthy.wait_for(5)
    assert received_ids(healthy) == [e["id"] for e in first + later]
    wait_until(
        lambda: (
            [d.status for d in system.deliveries.list(subscription_id=healthy_id)]
            == ["succeeded"] * 5
        ),
        "the healthy deliveries recorded as succeeded",
    )

    if expected.retry_in is None:
        clock.advance(hours=1)
        system.settled()
        assert len(system.deliveries.get(delivery.id)[1]) == 1, "attempted again"
        settled, _ = system.deliveries.get(delivery.id)
        assert settled.status == expected.outcome
        assert settled.next_attempt_at is None
        if expected.status == 410:
            sub = system.subscriptions.get(faulty_id)
            assert not sub.enabled
            assert "410" in sub.disabled_reason
            assert faulty is not None and len(faulty.requests) == 1  # the next batch waits
        return

    due = parse_time(attempt.started_at) + dt.timedelta(seconds=expected.retry_in)
    assert attempt.next_attempt_at is not None
    assert parse_time(attempt.next_attempt_at) == due
    if expected.retry_in > SCHEDULE[0]:  # Retry-After holds the retry back past the schedule
        clock.advance(SCHEDULE[0] + 1)
        system.settled()
        assert len(system.deliveries.get(delivery.id)[1]) == 1, "retried before Retry-After"
    clock.advance((due - clock()).total_seconds() - 1)
    system.settled()
    assert len(system.deliveries.get(delivery.id)[1]) == 1, "retried before it was due"
    if faulty is not None:
        assert len(faulty.requests) == 1  # in order: the next batch waits for this one
    clock.advance(1)
    _, again = attempts_of(system, delivery.id, 2)
    assert (again.attempt, again.trigger) == (2, "schedule")
    assert (again.error_kind, again.status, again.outcome) == (
        expected.error_kind,
        expected.status,
        "retrying",
    ), again.error
    if faulty is not None:
        one, two = faulty.wait_for(2)[:2]
        assert one.headers["webhook-id"] == two.headers["webhook-id"] == delivery.id
        assert one.body == two.body

    # Meanwhile, and after, the healthy subscription is still undisturbed.
    system.publish(event("last"))
    healthy.wait_for(6)
    assert received_ids(healthy)[-1] == "last"
