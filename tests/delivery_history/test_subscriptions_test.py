"""`subscriptions test`: one synthetic event sent now, outside the pipeline."""

from __future__ import annotations

import json

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.deliveries import BatchSealed
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.subscriptions import REDACTED
from tests.endpoint import Reply, closed_port_url
from tests.helpers import event, fields_of, header, received_ids, subscribe


def test_subscriptions_test_sends_one_synthetic_event_now_without_the_pipeline(
    db, operator, endpoints, clock
):
    endpoint = endpoints(Reply(200, body=b"got it"))
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(
            offline, endpoint, events=["signin.dhcp.*"], flush_interval="1h"
        ).subscription.id

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
        sub_id = subscribe(offline, endpoint, retry_schedule="1m").subscription.id
        refused_id = subscribe(offline, closed_port_url(), context="ctx_closed").subscription.id

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


def test_a_test_in_flight_is_sent_by_its_own_process_alone_not_by_a_run_starting_meanwhile(
    db, endpoints, clock
):
    endpoint = endpoints()
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as tester:
        sub_id = subscribe(tester, endpoint, max_events=1).subscription.id
        body = '[{"id":"test"}]'
        tester.ledger.record(BatchSealed(  # what `subscriptions test` records before its POST
            batch_id=short_id("dlv_"), subscription_id=sub_id, ranges=[], count=1,
            bytes=len(body), ndjson=False, trigger="test", body=body,
        ))  # fmt: skip
        (row,) = tester.status()
        assert row["backlog"] == 0  # a test is not the subscription's backlog

        with WebhookSystem(db, clock=clock, allow_private_networks=True) as running:
            running.publish(event("e1"))
            endpoint.wait_for(1)
            running.settled()
        assert received_ids(endpoint) == ["e1"]
