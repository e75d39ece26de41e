"""Operational notifications: an operations endpoint is told, Standard Webhooks signed, when a
subscription starts failing, is disabled for failing too long, and recovers; verified with the
`standardwebhooks` library. The clock starts at the real time, so that the library's tolerance
for the signature's timestamp holds."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.actors.notifier import Finished
from signin_webhooks.eventstore.deliveries import AttemptRecorded
from signin_webhooks.eventstore.notifications import NotificationAttempted
from signin_webhooks.eventstore.subscriptions import SubscriptionDisabled
from tests.endpoint import Hang, Received, Reply
from tests.helpers import event, facts, subscribe, wait_for_facts, wait_until


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC))


def verified(secret: str, request: Received) -> dict[str, Any]:
    """The notification, once the library has checked its signature."""
    return Webhook(secret).verify(request.body, request.headers)


def test_the_operations_endpoint_is_told_failing_then_disabled_each_verifiable(
    system, endpoints, clock
):
    failing, operations = endpoints(Reply(503)), endpoints()
    saved = subscribe(
        system, failing, name="CRM", max_events=1, retry_schedule="1m,1m",
        auto_disable_after="1m", operations_url=operations.url_for("/ops"),
    )  # fmt: skip
    sub_id, secret = saved.subscription.id, saved.secret
    assert secret is not None
    failing_since = system.subscriptions.get(sub_id).created_at
    system.publish(event("e1"))
    first = operations.wait_for(1)[0]
    clock.advance(minutes=1)
    wait_for_facts(system, SubscriptionDisabled, sub_id, 1)
    told = [verified(secret, r) for r in operations.wait_for(2)]

    assert [t["type"] for t in told] == [
        "signin_webhooks.subscription.failing",
        "signin_webhooks.subscription.disabled",
    ]
    assert told[0]["data"]["subscription_id"] == sub_id
    assert (told[0]["data"]["name"], told[0]["data"]["health"]) == ("CRM", "failing")
    assert told[0]["data"]["failing_since"] >= failing_since
    assert told[0]["data"]["reason"].endswith("attempt 1: HTTP 503")
    assert told[1]["data"]["health"] == "disabled"
    assert "auto_disable_after 1m" in told[1]["data"]["reason"]
    assert first.path == "/ops" and first.headers["webhook-id"].startswith("ntf_")
    sent = wait_for_facts(system, NotificationAttempted, sub_id, 2)
    assert [(n.kind, n.outcome) for n in sent] == [("failing", "sent"), ("disabled", "sent")]
    assert all(len(r.headers["webhook-signature"].split()) == 1 for r in operations.requests)
    forged = json.dumps({**told[0], "type": "signin_webhooks.subscription.recovered"}).encode()
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(secret).verify(forged, first.headers)


def test_the_installation_s_operations_endpoint_is_told_of_a_recovery(database, endpoints, clock):
    flaky, operations = endpoints(Reply(500)), endpoints()
    with WebhookSystem(database, clock=clock, deliver=False, allow_private_networks=True) as setup:
        setup.settings.set("operations_url", operations.url_for("/ops"))
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(system, flaky, max_events=1, retry_schedule="1m")
        system.publish(event("e1"))
        wait_for_facts(system, AttemptRecorded, saved.subscription.id, 1)
        flaky.set_default(Reply(200))
        clock.advance(minutes=1)
        assert saved.secret is not None
        told = [verified(saved.secret, r) for r in operations.wait_for(2)]
    assert [t["type"].rsplit(".", 1)[1] for t in told] == ["failing", "recovered"]
    assert told[1]["data"]["health"] == "healthy"
    assert (told[1]["data"]["failing_since"], told[0]["data"]["failing_since"] is None) == (
        None,
        False,
    )


def test_an_operations_endpoint_that_fails_is_retried_and_each_attempt_recorded(
    system, endpoints, clock
):
    operations = endpoints(Reply(502))
    sub_id = subscribe(
        system, endpoints(Reply(500)), max_events=1, operations_url=operations.url_for("/ops")
    ).subscription.id
    system.publish(event("e1"))
    wait_for_facts(system, NotificationAttempted, sub_id, 1)
    operations.set_default(Reply(204))
    clock.advance(seconds=30)
    sent = wait_for_facts(system, NotificationAttempted, sub_id, 2)
    assert [(n.attempt, n.status, n.outcome) for n in sent] == [
        (1, 502, "retrying"),
        (2, 204, "sent"),
    ]
    ids = {r.headers["webhook-id"] for r in operations.requests}
    assert len(ids) == 1  # the same notification, again


def test_an_operator_s_disable_tells_nobody(system, endpoints):
    operations = endpoints()
    sub_id = subscribe(
        system, endpoints(), operations_url=operations.url_for("/ops")
    ).subscription.id
    system.subscriptions.disable(sub_id)
    system.routed(5)  # the router has told the notifier all it will, and the notifier records
    system._pipeline.notifier.ask(Finished(), timeout=5)  # what it was told, before this answer
    assert facts(system, NotificationAttempted, sub_id) == []
    wait_until(lambda: not system.subscriptions.get(sub_id).enabled, "disabled")
    assert operations.requests == []


def test_an_operations_endpoint_that_hangs_does_not_hold_up_another_s(system, endpoints):
    hanging, answering = endpoints(Hang()), endpoints()
    slow = subscribe(
        system, endpoints(Reply(500)), max_events=1, operations_url=hanging.url_for("/ops")
    ).subscription.id
    quick = subscribe(
        system, endpoints(Reply(500)), max_events=1, context="ctx_other",
        operations_url=answering.url_for("/ops"),
    ).subscription.id  # fmt: skip
    system.publish(event("e1"))
    hanging.wait_for(1)  # its notification is in flight, and stays there
    system.publish(event("e2", context="ctx_other"))
    (told,) = answering.wait_for(1, timeout=30)
    assert json.loads(told.body)["data"]["subscription_id"] == quick
    sent = wait_for_facts(system, NotificationAttempted, quick, 1)
    assert [n.outcome for n in sent] == ["sent"]
    # Told while the other endpoint still hangs: its attempt has not ended, nor been recorded.
    assert facts(system, NotificationAttempted, slow) == []


def test_a_retry_pending_at_stop_is_sent_after_the_restart(database, endpoints, clock):
    operations = endpoints()
    operations.respond(Reply(502))
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(
            system, endpoints(Reply(500)), max_events=1, operations_url=operations.url_for("/ops")
        )
        sub_id = saved.subscription.id
        system.publish(event("e1"))
        (first,) = wait_for_facts(system, NotificationAttempted, sub_id, 1)
        assert first.outcome == "retrying"
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as system:
        clock.advance(seconds=29)
        system.settled()
        assert system._pipeline is not None and system._pipeline.notifier is not None
        system._pipeline.notifier.ask(Finished(), timeout=5)
        assert len(operations.requests) == 1, "sent again before its retry was due"
        clock.advance(seconds=1)
        again = operations.wait_for(2)[1]
        sent = wait_for_facts(system, NotificationAttempted, sub_id, 2)
    assert [(n.attempt, n.outcome) for n in sent] == [(1, "retrying"), (2, "sent")]
    assert again.headers["webhook-id"] == first.notification_id
    assert saved.secret is not None
    assert verified(saved.secret, again)["type"] == "signin_webhooks.subscription.failing"
