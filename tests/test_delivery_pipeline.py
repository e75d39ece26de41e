"""The running pipeline, end to end: publish through the public API, receive on real endpoints.

Every test runs a whole WebhookSystem (router, batchers, delivery pool) on a ManualClock, with
real HTTP servers on 127.0.0.1. Flush and retry intervals pass by advancing the clock, never by
sleeping. Until the delivery history has its own projection, attempts are read from the log.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.signing import new_secret, verify
from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchCancelled, BatchSealed
from tests.backends import BACKENDS
from tests.endpoint import Endpoint, Hang, Received, Reply
from tests.helpers import (
    create_subscription,
    event,
    facts,
    header,
    ids,
    objects,
    received_ids,
    wait_for_facts,
    wait_until,
)

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)
USER_AGENT = f"signin-webhooks/{importlib.metadata.version('signin-webhooks')}"


# -- helpers


def verifies(secret: str, request: Received) -> bool:
    return verify(
        secret,
        header(request, "webhook-id"),
        int(header(request, "webhook-timestamp")),
        request.body,
        header(request, "webhook-signature"),
    )


def subscribe(system: WebhookSystem, endpoint: Endpoint, **fields: Any) -> tuple[str, str]:
    """A context subscription on ctx_lobby unless told otherwise: its id and its secret."""
    saved = create_subscription(system, endpoint, **fields)
    assert saved.secret is not None
    return saved.subscription.id, saved.secret


# -- routing and batching


def test_settled_returns_once_what_was_published_is_delivered_and_recorded(system, endpoints):
    """The barrier the other tests wait on before asserting that nothing more happened."""
    endpoint = endpoints()
    sub_id, _ = subscribe(system, endpoint, max_events=1)
    system.publish([event("a"), event("b"), event("c")])
    system.settled()
    assert received_ids(endpoint) == ["a", "b", "c"]
    assert len(facts(system, AttemptRecorded, sub_id)) == 3


def test_events_reach_exactly_the_subscriptions_whose_scope_and_types_match_in_log_order(
    system, endpoints, clock
):
    lobby, org, sessions, other = endpoints(), endpoints(), endpoints(), endpoints()
    limits = {"max_events": 3, "flush_interval": "1m"}
    subscribe(system, lobby, context="ctx_lobby", **limits)
    subscribe(system, org, organization="org_acme", **limits)
    subscribe(system, sessions, organization="org_acme", events=["signin.session.*"], **limits)
    subscribe(system, other, context="ctx_hall", **limits)
    published = [
        event("e01", "signin.session.created"),
        event("e02", "signin.dhcp.granted", context="ctx_bar"),
        event("e03", "signin.session.verified", context="ctx_bar"),
        event("e04", "signin.arenasession.login", context="ctx_hall", organization="org_other"),
        event("e05", "signin.configuration.audit"),
        event("e06", "signin.session.denied", context="ctx_hall", organization="org_other"),
        event("e07", "signin.session.resumed"),
    ]
    more = [
        event("e08", "signin.dhcp.expired"),
        event("e09", "signin.session.revoked", context="ctx_bar"),
        event("e10", "signin.session.approved", context="ctx_hall", organization="org_other"),
        event("e11", "signin.arenasession.resumed", context="ctx_bar"),
    ]
    system.publish(published)
    system.publish(more)
    clock.advance(60)  # flush what is left in open batches

    everything = published + more
    expected = {
        lobby: [e["id"] for e in everything if e["context_id"] == "ctx_lobby"],
        org: [e["id"] for e in everything if e["organization_id"] == "org_acme"],
        sessions: [
            e["id"]
            for e in everything
            if e["organization_id"] == "org_acme" and e["type"].startswith("signin.session.")
        ],
        other: [e["id"] for e in everything if e["context_id"] == "ctx_hall"],
    }
    for endpoint, wanted in expected.items():

        def arrived(e: Endpoint = endpoint, w: list[str] = wanted) -> bool:
            return len(received_ids(e)) >= len(w)

        wait_until(arrived, "all events")
    system.settled()
    for endpoint, wanted in expected.items():
        assert received_ids(endpoint) == wanted
        assert all(1 <= len(ids(r)) <= 3 for r in endpoint.requests)
    assert len(org.requests) >= 3  # eight events, at most three a batch


def test_a_batch_is_flushed_when_its_oldest_event_has_waited_flush_interval(
    system, endpoints, clock
):
    endpoint = endpoints()
    sub_id, _ = subscribe(system, endpoint, flush_interval="5m", max_events=100)
    system.publish(event("first"))
    clock.advance(minutes=2)
    system.publish(event("second"))
    clock.advance(seconds=179)  # the oldest has waited 4m59s
    system.settled()
    assert endpoint.requests == []
    assert facts(system, BatchSealed, sub_id) == []

    clock.advance(seconds=1)
    (request,) = endpoint.wait_for(1)
    assert ids(request) == ["first", "second"]
    system.settled()
    assert len(endpoint.requests) == 1


def test_max_bytes_seals_a_batch_before_its_body_would_grow_past_it(system, endpoints, clock):
    endpoint = endpoints()
    sub_id, _ = subscribe(
        system, endpoint, max_bytes=64 * 1024, max_events=100, flush_interval="1m"
    )
    padding = "x" * 30_000  # two such events fit in 64 KiB, three do not
    system.publish([event(f"big{i}", padding=padding) for i in range(3)])

    (first,) = endpoint.wait_for(1)
    assert ids(first) == ["big0", "big1"]
    assert len(first.body) <= 64 * 1024
    clock.advance(60)
    second = endpoint.wait_for(2)[1]
    assert ids(second) == ["big2"]
    sealed = facts(system, BatchSealed, sub_id)
    assert [b.bytes for b in sealed] == [len(first.body), len(second.body)]


# -- what goes over the wire


def test_ndjson_subscription_receives_one_event_object_per_line(system, endpoints):
    endpoint = endpoints()
    subscribe(system, endpoint, content_type="application/x-ndjson", max_events=3)
    system.publish([event("n1"), event("n2", "signin.dhcp.granted"), event("n3")])

    (request,) = endpoint.wait_for(1)
    assert header(request, "Content-Type") == "application/x-ndjson"
    assert request.body.endswith(b"\n")
    lines = request.body.split(b"\n")[:-1]
    assert [json.loads(line)["id"] for line in lines] == ["n1", "n2", "n3"]


def test_each_request_carries_its_headers_a_valid_signature_and_the_events_as_published(
    system, endpoints, clock
):
    endpoint = endpoints()
    sub_id, secret = subscribe(
        system,
        endpoint,
        max_events=2,
        headers={"X-Tenant": "acme", "Authorization": "Bearer t0k3n"},
    )
    first = event("kept", guest={"email": "ada@example.com"}, tags=[1, 2], portal=None)
    second = event("", "signin.dhcp.granted")
    del second["id"]  # the log assigns one
    result = system.publish([first, second])

    (request,) = endpoint.wait_for(1)
    (sealed,) = facts(system, BatchSealed, sub_id)
    assert request.method == "POST"
    assert request.path == "/hook"
    assert header(request, "Content-Type") == "application/json"
    assert header(request, "User-Agent") == USER_AGENT
    assert header(request, "webhook-id") == sealed.batch_id
    assert header(request, "webhook-timestamp") == str(int(clock.now.timestamp()))
    assert header(request, "X-Tenant") == "acme"
    assert header(request, "Authorization") == "Bearer t0k3n"
    assert verifies(secret, request)
    assert not verifies(new_secret(), request)

    delivered = objects(request)
    recorded_at = clock.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert delivered[0] == {
        **first,
        "occurred_at": recorded_at,  # defaults to the publish time
        "sequence": result.first_sequence,
        "recorded_at": recorded_at,
    }
    assert delivered[1]["sequence"] == result.last_sequence
    assert delivered[1]["id"]  # assigned, since the publisher gave none
    assert {k: delivered[1][k] for k in second} == second
    assert set(delivered[1]) - set(second) == {"id", "occurred_at", "sequence", "recorded_at"}


def test_after_rotation_requests_carry_both_signatures_until_the_grace_ends(
    system, endpoints, clock
):
    endpoint = endpoints()
    sub_id, old = subscribe(system, endpoint, max_events=1)
    new = system.subscriptions.rotate_secret(sub_id, grace="1h").secret
    assert new is not None
    system.publish(event("during-grace"))

    (request,) = endpoint.wait_for(1)
    signatures = header(request, "webhook-signature").split(" ")
    assert len(signatures) == 2
    for secret in (old, new):
        matching = [
            s
            for s in signatures
            if verify(
                secret,
                header(request, "webhook-id"),
                int(header(request, "webhook-timestamp")),
                request.body,
                s,
            )
        ]
        assert len(matching) == 1

    clock.advance(hours=1, seconds=1)
    system.publish(event("after-grace"))
    later = endpoint.wait_for(2)[1]
    assert len(header(later, "webhook-signature").split(" ")) == 1
    assert verifies(new, later)
    assert not verifies(old, later)


# -- failures and retries


def test_a_failing_endpoint_is_retried_on_its_schedule_under_one_webhook_id_then_failed(
    system, endpoints, clock
):
    endpoint = endpoints(Reply(500, body=b"down"))
    sub_id, _ = subscribe(system, endpoint, retry_schedule="1s,2s", max_events=1)
    system.publish(event("doomed"))

    endpoint.wait_for(1)
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    clock.advance(0.9)
    system.settled()
    assert len(endpoint.requests) == 1
    clock.advance(0.1)
    endpoint.wait_for(2)
    wait_for_facts(system, AttemptRecorded, sub_id, 2)
    clock.advance(1.9)
    system.settled()
    assert len(endpoint.requests) == 2
    clock.advance(0.1)
    endpoint.wait_for(3)
    attempts = wait_for_facts(system, AttemptRecorded, sub_id, 3)

    clock.advance(hours=1)
    system.settled()
    requests = endpoint.requests
    assert len(requests) == 3
    (sealed,) = facts(system, BatchSealed, sub_id)
    assert {header(r, "webhook-id") for r in requests} == {sealed.batch_id}
    assert len({r.body for r in requests}) == 1
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.outcome for a in attempts] == ["retrying", "retrying", "failed"]
    assert [(a.status, a.error_kind, a.response_body) for a in attempts] == [
        (500, "http_status", "down")
    ] * 3
    assert attempts[-1].next_attempt_at is None


def test_410_gone_disables_the_subscription_and_its_batch_is_resent_when_enabled(system, endpoints):
    endpoint = endpoints()
    endpoint.respond(Reply(410))
    sub_id, _ = subscribe(system, endpoint, max_events=1, retry_schedule="1s")
    system.publish(event("gone"))

    endpoint.wait_for(1)
    disabled = wait_until(
        lambda: (s := system.subscriptions.get(sub_id)) and not s.enabled and s, "disabled"
    )
    assert "410" in disabled.disabled_reason
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    assert attempt.status == 410
    system.publish(event("while-disabled"))
    system.settled()
    assert len(endpoint.requests) == 1

    system.subscriptions.enable(sub_id)
    first, again, later = endpoint.wait_for(3)
    assert header(again, "webhook-id") == header(first, "webhook-id")
    assert again.body == first.body
    assert ids(later) == ["while-disabled"]


def test_retry_after_on_429_holds_the_retry_back_beyond_the_schedule(system, endpoints, clock):
    endpoint = endpoints()
    endpoint.respond(Reply(429, headers={"Retry-After": "120"}))
    sub_id, _ = subscribe(system, endpoint, max_events=1, retry_schedule="1s")
    system.publish(event("throttled"))

    endpoint.wait_for(1)
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    assert attempt.status == 429
    clock.advance(1)
    system.settled()
    clock.advance(118)
    system.settled()
    assert len(endpoint.requests) == 1
    clock.advance(1)
    first, second = endpoint.wait_for(2)
    assert header(second, "webhook-id") == header(first, "webhook-id")
    assert wait_for_facts(system, AttemptRecorded, sub_id, 2)[1].outcome == "succeeded"


def test_a_redirect_is_not_followed_and_is_recorded_as_a_redirect(system, endpoints):
    elsewhere = endpoints()
    endpoint = endpoints(Reply(302, headers={"Location": elsewhere.url_for("/moved")}))
    sub_id, _ = subscribe(system, endpoint, max_events=1, retry_schedule="1h")
    system.publish(event("redirected"))

    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    system.settled()
    assert len(endpoint.requests) == 1
    assert elsewhere.requests == []
    assert (attempt.status, attempt.error_kind, attempt.outcome) == (302, "redirect", "retrying")


def test_a_hanging_and_a_failing_endpoint_do_not_hold_up_a_healthy_one(system, endpoints):
    hanging, failing, healthy = endpoints(Hang()), endpoints(Reply(500)), endpoints()
    hang_id, _ = subscribe(system, hanging, max_events=1, timeout="2s", retry_schedule="1s")
    fail_id, _ = subscribe(system, failing, max_events=1, retry_schedule="1s")
    subscribe(system, healthy, max_events=1)
    published = [event(f"h{i}") for i in range(5)]
    system.publish(published)

    hanging.wait_for(1)
    healthy.wait_for(5, timeout=1.5)
    assert facts(system, AttemptRecorded, hang_id) == []  # still hanging meanwhile
    assert received_ids(healthy) == [e["id"] for e in published]
    (timed_out,) = wait_for_facts(system, AttemptRecorded, hang_id, 1)
    assert (timed_out.error_kind, timed_out.outcome) == ("timeout", "retrying")
    (failed,) = wait_for_facts(system, AttemptRecorded, fail_id, 1)
    assert (failed.status, failed.error_kind) == (500, "http_status")


# -- subscription changes while running


def test_disable_stops_delivery_and_enable_resumes_with_nothing_lost(system, endpoints):
    endpoint = endpoints()
    sub_id, _ = subscribe(system, endpoint, max_events=1)
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
    sub_id, _ = subscribe(system, endpoint, max_events=1, enabled=False)
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
    sub_id, _ = subscribe(system, old, max_events=1, retry_schedule="1s")
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
    sub_id, _ = subscribe(system, endpoint, max_events=1, retry_schedule="1s")
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
    sub_id, _ = subscribe(system, endpoint, max_events=1, timeout="1s", retry_schedule="1s")
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


# -- other processes


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
    sub_id, _ = subscribe(system, endpoint, retry_schedule="1m", max_events=1, flush_interval="0")
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
        sub_id, _ = subscribe(running, endpoint, max_events=1, retry_schedule="1h")
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
    sub_id, _ = subscribe(system, endpoint, max_events=1, timeout="1s", retry_schedule="1h")
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
