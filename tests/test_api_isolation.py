"""Tenant isolation: a context's token tries every route on another context's subscriptions,
deliveries and events, and on organization-level ones; each answer is 404 or 403, and the log
is as it was."""

from __future__ import annotations

from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer
from tests.endpoint import Endpoint
from tests.helpers import event


@pytest.fixture
def tenants(system: WebhookSystem, endpoints) -> dict[str, Any]:
    """Context A in organization A; context B and an organization-wide subscription in B."""
    endpoint: Endpoint = endpoints()
    url = endpoint.url_for("/hook")
    tokens = system.tokens
    made = {
        "a": tokens.create(scope="context", context="ctx_a", organization="org_a")[1],
        "org_a": tokens.create(scope="organization", organization="org_a")[1],
        "b": tokens.create(scope="context", context="ctx_b", organization="org_b")[1],
    }
    subs = system.subscriptions
    own = subs.create(name="A", url=url, context="ctx_a").subscription.id
    theirs = subs.create(name="B", url=url, context="ctx_b").subscription.id
    their_org = subs.create(name="B org", url=url, organization="org_b").subscription.id
    delivery = subs.test(theirs)[0].id
    system.publish([event("b1", context="ctx_b", organization="org_b")])
    system.publish([event("a1", context="ctx_a", organization="org_a")])
    return {"tokens": made, "own": own, "theirs": theirs, "their_org": their_org,
            "delivery": delivery}  # fmt: skip


def _attempts(sub: str, delivery: str, own: str) -> list[tuple[str, str, dict[str, Any]]]:
    s = f"/subscriptions/{sub}"
    return [
        ("GET", s, {}),
        ("PATCH", s, {"json": {"name": "mine now"}}),
        ("DELETE", s, {}),
        ("POST", f"{s}/enable", {}),
        ("POST", f"{s}/disable", {}),
        ("POST", f"{s}/rotate-secret", {}),
        ("POST", f"{s}/test", {}),
        ("POST", f"{s}/recover", {"json": {"since": "2020-01-01"}}),
        ("POST", f"{s}/recover", {"json": {"since": "2020-01-01", "dry_run": True}}),
        ("GET", "/deliveries", {"params": {"subscription": sub}}),
        ("GET", "/deliveries", {"params": {"webhook-id": delivery}}),
        ("GET", f"/deliveries/{delivery}", {}),
        ("POST", f"/deliveries/{delivery}/retry", {"params": {"force": "true"}}),
        ("GET", "/events", {"params": {"context": "ctx_b"}}),
        ("GET", "/events", {"params": {"organization": "org_b"}}),
        ("GET", "/events", {"params": {"all": "true"}}),
        ("POST", "/events", {"json": event("x1", context="ctx_b", organization="org_b")}),
        ("POST", "/events", {"json": [event("x2", context="ctx_a", organization="org_b")]}),
        ("POST", "/subscriptions", {"json": {"name": "n", "url": "https://x.example",
                                             "context_id": "ctx_b"}}),
        ("POST", "/subscriptions", {"json": {"name": "n", "url": "https://x.example",
                                             "organization_id": "org_b"}}),
        ("PATCH", f"/subscriptions/{own}", {"json": {"context_id": "ctx_b"}}),
        ("GET", "/settings", {}),
        ("PATCH", "/settings", {"json": {"delivery_retention": "1h"}}),
    ]  # fmt: skip


@pytest.mark.parametrize("who", ["a", "org_a"])
@pytest.mark.parametrize("target", ["theirs", "their_org"])
def test_another_tenants_resources_answer_404_or_403_and_nothing_changes(
    api: ApiServer, tenants: dict[str, Any], who: str, target: str
) -> None:
    log = api.system.store.log
    before = log.last_sequence()
    answers = []
    with api.client(tenants["tokens"][who]) as http:
        for method, path, options in _attempts(
            tenants[target], tenants["delivery"], tenants["own"]
        ):
            answer = http.request(method, path, **options)
            answers.append((method, path, answer.status_code, answer.json().get("detail")))
    wrong = [a for a in answers if a[2] not in (403, 404)]
    assert wrong == []
    assert log.last_sequence() == before
    assert all(tenants[target] not in (a[3] or "") or a[2] == 404 for a in answers)


def test_each_token_lists_only_its_own(api: ApiServer, tenants: dict[str, Any]) -> None:
    with api.client(tenants["tokens"]["a"]) as http:
        subs = http.get("/subscriptions", params={"all": "true"}).json()["data"]
        deliveries = http.get("/deliveries").json()["data"]
        events = http.get("/events").json()["data"]
        status = http.get("/status").json()
    with api.client(tenants["tokens"]["org_a"]) as http:
        org_subs = http.get("/subscriptions").json()["data"]
    with api.client(tenants["tokens"]["b"]) as http:
        b_deliveries = http.get("/deliveries").json()["data"]
    assert [s["id"] for s in subs] == [tenants["own"]]
    assert [s["id"] for s in org_subs] == [tenants["own"]]  # ctx_a is recorded in org_a
    assert deliveries == []
    assert [d["id"] for d in b_deliveries] == [tenants["delivery"]]
    assert [e["id"] for e in events] == ["a1"]
    assert [s["subscription_id"] for s in status["subscriptions"]] == [tenants["own"]]
    assert status["holder"] is None


def test_an_organization_token_manages_its_contexts_and_its_own_subscriptions(
    api: ApiServer, tenants: dict[str, Any]
) -> None:
    with api.client(tenants["tokens"]["org_a"]) as http:
        in_context = http.post("/subscriptions", json={
            "name": "c", "url": "https://x.example", "context_id": "ctx_a"})  # fmt: skip
        org_wide = http.post("/subscriptions", json={
            "name": "o", "url": "https://x.example", "organization_id": "org_a"})  # fmt: skip
        unknown_context = http.post("/subscriptions", json={
            "name": "u", "url": "https://x.example", "context_id": "ctx_elsewhere"})  # fmt: skip
        published = http.post("/events", json=event("o1", context="ctx_a", organization="org_a"))
        spoofed = http.post("/events", json=event("o2", context="ctx_b", organization="org_a"))
    assert in_context.status_code == 201 and org_wide.status_code == 201
    assert unknown_context.status_code == 403
    assert unknown_context.json()["detail"] == (
        "this token's scope is organization 'org_a'; it cannot manage subscriptions of"
        " context 'ctx_elsewhere'"
    )
    assert published.status_code == 200
    assert spoofed.status_code == 403
    assert spoofed.json()["detail"] == (
        "event: context 'ctx_b' is part of organization 'org_b', not 'org_a'; nothing was appended"
    )


def test_a_context_no_token_records_belongs_to_the_organization_of_its_first_event(
    api: ApiServer, tenants: dict[str, Any]
) -> None:
    api.system.publish([event("c1", context="ctx_lone", organization="org_b")])
    with api.client(tenants["tokens"]["org_a"]) as http:
        spoofed = http.post("/events", json=event("o3", context="ctx_lone", organization="org_a"))
        subscribed = http.post("/subscriptions", json={
            "name": "l", "url": "https://x.example", "context_id": "ctx_lone"})  # fmt: skip
        read = http.get("/events", params={"context": "ctx_lone"})
        claimed = http.post("/events", json=[
            event("n1", context="ctx_new", organization="org_a"),
            event("n2", context="ctx_new2", organization="org_a"),
        ])  # fmt: skip
        in_new = http.post("/subscriptions", json={
            "name": "n", "url": "https://x.example", "context_id": "ctx_new"})  # fmt: skip
    assert spoofed.status_code == 403
    assert spoofed.json()["detail"] == (
        "event: context 'ctx_lone' is part of organization 'org_b', not 'org_a'; nothing was"
        " appended"
    )
    assert subscribed.status_code == 403 and read.status_code == 403
    assert claimed.status_code == 200 and in_new.status_code == 201
    assert api.system.store.log.sequence_of("o3") is None


def test_one_call_cannot_fix_a_new_context_to_two_organizations(
    api: ApiServer, tenants: dict[str, Any]
) -> None:
    _, token = api.system.tokens.create(scope="context", context="ctx_fresh")
    with api.client(token) as http:
        refused = http.post("/events", json=[
            event("m1", context="ctx_fresh", organization="org_a"),
            event("m2", context="ctx_fresh", organization="org_b"),
        ])  # fmt: skip
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "index 1: context 'ctx_fresh' is part of organization 'org_a', not 'org_b'; nothing was"
        " appended"
    )
