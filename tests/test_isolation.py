"""Endpoints that hang until their timeout hold up no one but their own subscriptions, however
many they are and under whatever names they are reached."""

from __future__ import annotations

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.endpoint import Hang
from tests.helpers import FakeDns, event, received_ids, subscribe, wait_for_facts

HANGING = 100


def test_a_hundred_endpoints_hanging_on_distinct_names_do_not_hold_up_a_healthy_one(
    tmp_path, clock, endpoints
):
    hanging, healthy = endpoints(Hang()), endpoints()
    names = {f"h{i}.example": ["127.0.0.1"] for i in range(HANGING)}
    dns = FakeDns(names)
    with WebhookSystem(
        tmp_path / "hooks.db", clock=clock, resolver=dns, allow_private_networks=True
    ) as system:
        for i in range(HANGING):
            url = hanging.url_for(host=f"h{i}.example")
            subscribe(system, url, name=f"hanging {i}", max_events=1, timeout="1m")
        subscribe(system, healthy, name="healthy", max_events=1)
        system.publish(event("e1"))

        # Held up behind the hanging attempts, it would wait out their minute.
        healthy.wait_for(1, timeout=30)
        assert received_ids(healthy) == ["e1"]
        # One machine behind a hundred names: 4 connections to it at once (the default cap).
        hanging.wait_for(4)
        hanging.stop()  # release the hanging attempts rather than wait out their minute


def test_an_attempt_waiting_for_its_endpoint_counts_the_wait_towards_its_timeout(
    tmp_path, clock, endpoints
):
    hanging = endpoints(Hang())
    with WebhookSystem(tmp_path / "hooks.db", clock=clock, allow_private_networks=True) as system:
        system.settings.set("connections_per_host", "1")
    with WebhookSystem(tmp_path / "hooks.db", clock=clock, allow_private_networks=True) as system:
        first = subscribe(system, hanging, name="first", context="ctx_a", max_events=1,
                          timeout="3s", retry_schedule="1h").subscription.id  # fmt: skip
        behind = [
            subscribe(system, hanging, name=c, context=c, max_events=1, timeout="1s",
                      retry_schedule="1h").subscription.id
            for c in ("ctx_b", "ctx_c")
        ]  # fmt: skip
        system.publish(event("e1", context="ctx_a"))
        hanging.wait_for(1)
        system.publish([event("e2", context="ctx_b"), event("e3", context="ctx_c")])

        # The first holds the one connection past the others' 1 s: one of them waits for it
        # in the transport, the other for its turn at the endpoint in the pool.
        for sub_id in behind:
            (waited,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
            assert waited.error_kind == "timeout"
            assert "no free connection" in (waited.error or "")
        (hung,) = wait_for_facts(system, AttemptRecorded, first, 1)
        assert hung.error_kind == "timeout"
        assert len(hanging.requests) == 1  # neither reached the endpoint
        hanging.stop()
