"""Prometheus metrics, at `/metrics` of `serve` and of `run --metrics-port`, parsed with
prometheus_client's own parser; the counters match what `deliveries list` shows."""

from __future__ import annotations

import urllib.request
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from signin_webhooks.actors import metrics
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.endpoint import Reply
from tests.helpers import event, facts, subscribe, wait_until


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def counted(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_parse_and_their_counters_match_the_delivery_history(system, endpoints, clock, api):
    before = samples(metrics.exposition(metrics.REGISTRY).decode())
    fine, failing = endpoints(), endpoints(Reply(503))
    good = subscribe(system, fine, max_events=2).subscription.id
    bad = subscribe(
        system, failing, max_events=1, retry_schedule="1m", context="ctx_hall"
    ).subscription.id
    system.publish([event("e1"), event("e2"), event("h1", context="ctx_hall")])
    wait_until(lambda: len(facts(system, AttemptRecorded)) == 2, "one attempt each")
    clock.advance(minutes=1)
    wait_until(
        lambda: [d.status for d in system.deliveries.list(subscription_id=bad)] == ["failed"],
        "h1 failed for good",
    )

    text = httpx.get(api.url + "/metrics").text
    found = samples(text)
    listed = system.deliveries.list()
    attempts = [a for d in listed for a in system.deliveries.get(d.id)[1]]

    def delta(name: str, **labels: str) -> float:
        return counted(found, name, **labels) - counted(before, name, **labels)

    for outcome, kind in {(a.outcome, a.error_kind or "none") for a in attempts}:
        expected = sum((a.outcome, a.error_kind or "none") == (outcome, kind) for a in attempts)
        assert delta("signin_webhooks_attempts_total", outcome=outcome, error_kind=kind) == (
            expected
        )
    assert delta("signin_webhooks_attempt_duration_seconds_count") == len(attempts)
    assert delta("signin_webhooks_batches_sealed_total") == len(listed) == 2
    assert delta("signin_webhooks_events_routed_total") == 3
    delivered = sum(d.count for d in listed if d.status == "succeeded")
    assert delta("signin_webhooks_events_delivered_total") == delivered == 2
    assert (
        counted(found, "signin_webhooks_events_published_total", type="signin.session.created") == 3
    )
    assert counted(found, "signin_webhooks_subscription_backlog", subscription=good) == 0
    assert counted(found, "signin_webhooks_subscription_failed_deliveries", subscription=bad) == 1
    assert (
        counted(found, "signin_webhooks_subscription_health", subscription=bad, health="failing")
        == 1
    )
    assert (
        counted(found, "signin_webhooks_subscription_health", subscription=good, health="healthy")
        == 1
    )
    assert ("signin_webhooks_delivery_pool_in_use", ()) in found
    assert ("signin_webhooks_delivery_pool_waiting", ()) in found
    assert all("dlv_" not in str(key) for key in found)  # no delivery id is ever a label


def test_run_metrics_port_serves_the_same_text(system, endpoints, database):
    server, port = metrics.serve(0, metrics.registry_for(database, system.clock))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        server.shutdown()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"signin_webhooks_attempts", "signin_webhooks_subscription_backlog"} <= names
