"""Routing and batching: which subscriptions receive an event, and when a batch is sealed."""

from __future__ import annotations

import pytest

from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchSealed
from tests.backends import BACKENDS
from tests.endpoint import Endpoint
from tests.helpers import event, facts, ids, received_ids, subscribe, wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


def test_settled_returns_once_what_was_published_is_delivered_and_recorded(system, endpoints):
    """The barrier the other tests wait on before asserting that nothing more happened."""
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
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
    sub_id = subscribe(system, endpoint, flush_interval="5m", max_events=100).subscription.id
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
    sub_id = subscribe(
        system, endpoint, max_bytes=64 * 1024, max_events=100, flush_interval="1m"
    ).subscription.id
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
