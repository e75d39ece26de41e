"""Endpoints that hang until their timeout hold up no one but their own subscriptions, however
many they are and under whatever names they are reached."""

from __future__ import annotations

from signin_webhooks.actors import WebhookSystem
from tests.endpoint import Hang
from tests.helpers import FakeDns, event, received_ids, subscribe

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

        healthy.wait_for(1, timeout=1.0)
        assert received_ids(healthy) == ["e1"]
        # One machine behind a hundred names: 4 connections to it at once (the default cap).
        hanging.wait_for(4)
        hanging.stop()  # release the hanging attempts rather than wait out their minute
