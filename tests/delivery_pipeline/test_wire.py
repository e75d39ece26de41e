"""What goes over the wire: bodies, headers and signatures."""

from __future__ import annotations

import json

import pytest

from signin_webhooks.actors.signing import new_secret, verify
from signin_webhooks.eventstore.deliveries import BatchSealed
from tests.backends import BACKENDS
from tests.delivery_pipeline import USER_AGENT, verifies
from tests.helpers import event, facts, header, objects, subscribe

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


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
    saved = subscribe(
        system,
        endpoint,
        max_events=2,
        headers={"X-Tenant": "acme", "Authorization": "Bearer t0k3n"},
    )
    sub_id, secret = saved.subscription.id, saved.secret
    assert secret is not None
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
    saved = subscribe(system, endpoint, max_events=1)
    sub_id, old = saved.subscription.id, saved.secret
    assert old is not None
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
