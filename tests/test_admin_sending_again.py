"""Sending again from the pages: a delivery's Retry (the API's retry, same webhook-id), and
recovering a window of a subscription's events, which first shows how many would be sent again
and asks to confirm. A read-only token sees neither button and is refused if it posts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore.deliveries import AttemptRecorded, RetryRequested
from tests.admin_browser import csrf_of, signed_in
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply
from tests.helpers import event, facts, subscribe, wait_for_facts, wait_until


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _failed(pages: ApiServer, endpoint: Endpoint, clock: ManualClock) -> tuple[str, str]:
    """A delivery that failed for good: its subscription's id and the delivery's page."""
    endpoint.set_default(Reply(500))
    sub = subscribe(pages.system, endpoint, max_events=1, flush_interval="0",
                    retry_schedule="1m").subscription  # fmt: skip
    pages.system.publish([event("e1")])
    wait_for_facts(pages.system, AttemptRecorded, sub.id, 1)
    clock.advance(minutes=1)
    delivery = wait_until(
        lambda: next(iter(pages.system.deliveries.list(status="failed")), None),
        "the delivery to fail for good",
    )
    return sub.id, f"/contexts/ctx_lobby/deliveries/{delivery.id}"


def test_retry_sends_a_failed_delivery_again_under_its_webhook_id(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    endpoint: Endpoint = endpoints()
    _, here = _failed(pages, endpoint, clock)
    endpoint.set_default(Reply(200))
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        refused = browser.post(f"{here}/retry", data={})
        retried = browser.post(f"{here}/retry", data={"csrf": csrf_of(page.text)})
        after = browser.get(here)
    assert '<button type="submit" aria-describedby="retry-help">Retry</button>' in page.text
    assert refused.status_code == 403
    assert retried.status_code == 303 and retried.headers["location"] == here
    assert "Retry requested: it is sent again under the same webhook-id" in after.text
    third = endpoint.wait_for(3)[2]
    assert third.headers["webhook-id"] == endpoint.requests[0].headers["webhook-id"]
    wait_until(lambda: pages.system.deliveries.list(status="succeeded"), "the retry to succeed")
    assert [a.trigger for a in pages.system.deliveries.get(here.rsplit("/", 1)[1])[1]] == [
        "schedule", "schedule", "retry",
    ]  # fmt: skip


def test_a_delivery_that_succeeded_is_sent_again_only_by_its_own_button(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub = subscribe(pages.system, endpoint, max_events=1, flush_interval="0").subscription
    pages.system.publish([event("e1")])
    delivery = wait_until(
        lambda: next(iter(pages.system.deliveries.list(status="succeeded")), None),
        "the delivery to succeed",
    )
    tested, _ = pages.system.subscriptions.test(sub.id)
    here = f"/contexts/ctx_lobby/deliveries/{delivery.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        test_page = browser.get(f"/contexts/ctx_lobby/deliveries/{tested.id}")
        sent = browser.post(f"{here}/retry", data={"csrf": csrf_of(page.text), "force": "1"})
    assert ">Send again</button>" in page.text and 'name="force" value="1"' in page.text
    assert "new series of attempts, though it has succeeded." in page.text
    assert "/retry" not in test_page.text  # a test delivery is not retried
    assert sent.status_code == 303
    endpoint.wait_for(3)  # the delivery, the test, and the delivery again
    assert json.loads(endpoint.requests[2].body)[0]["id"] == "e1"


def test_recover_shows_the_dry_run_count_then_sends_the_window_again(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub = subscribe(pages.system, endpoint, max_events=1, flush_interval="0").subscription
    pages.system.publish([event("e1"), event("e2"), event("e3")])
    endpoint.wait_for(3)
    pages.system.settled()
    here = f"/contexts/ctx_lobby/webhooks/{sub.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        csrf = csrf_of(page.text)
        counted = browser.post(f"{here}/recover", data={"csrf": csrf, "since": "2000-01-01"})
        made = len(pages.system.deliveries.list(subscription_id=sub.id))
        none = browser.post(f"{here}/recover", data={"csrf": csrf, "since": "2100-01-01"})
        confirm = {"csrf": csrf, "since": "2000-01-01", "confirm": "yes"}
        confirmed = browser.post(f"{here}/recover", data=confirm)
        after = browser.get(here)
    assert '<label for="recover-since">' in page.text
    assert counted.status_code == 200
    assert "3 events would be sent again" in counted.text
    assert ">Send 3 events again</button>" in counted.text and 'value="yes"' in counted.text
    assert made == 3  # counting sends nothing
    assert "0 events would be sent again" in none.text and 'value="yes"' not in none.text
    assert confirmed.status_code == 303 and confirmed.headers["location"] == f"{here}#recent"
    assert "Recovering: 3 events of the window are sent again in new deliveries." in after.text
    endpoint.wait_for(6)
    assert [json.loads(r.body)[0]["id"] for r in endpoint.requests[3:]] == ["e1", "e2", "e3"]


def test_a_window_refused_is_named_beside_its_input(pages: ApiServer, endpoints) -> None:
    sub = subscribe(pages.system, endpoints()).subscription
    here = f"/contexts/ctx_lobby/webhooks/{sub.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        csrf = csrf_of(browser.get(here).text)
        bad = browser.post(f"{here}/recover", data={"csrf": csrf, "since": "soon"})
        backwards = browser.post(f"{here}/recover",
                                 data={"csrf": csrf, "since": "1h", "until": "2h"})  # fmt: skip
    assert bad.status_code == 400
    assert '<p class="error" id="recover-since-error">since &#39;soon&#39; is not' in bad.text
    assert 'value="soon"' in bad.text
    assert backwards.status_code == 400
    assert '<p class="error" id="recover-until-error">until must be later than since' in (
        backwards.text
    )


def test_a_read_only_token_sees_no_retry_or_recover_and_is_refused(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    sub_id, here = _failed(pages, endpoints(), clock)
    page_of_sub = f"/contexts/ctx_lobby/webhooks/{sub_id}"
    with signed_in(pages, context="ctx_lobby", read_only=True) as browser:
        delivery = browser.get(here)
        sub_page = browser.get(page_of_sub)
        csrf = csrf_of(sub_page.text)
        retried = browser.post(f"{here}/retry", data={"csrf": csrf})
        recovered = browser.post(f"{page_of_sub}/recover",
                                 data={"csrf": csrf, "since": "2000-01-01"})  # fmt: skip
    assert delivery.status_code == 200 and "/retry" not in delivery.text
    assert sub_page.status_code == 200 and "/recover" not in sub_page.text
    assert retried.status_code == 403 and "read-only" in retried.text
    assert recovered.status_code == 403 and "read-only" in recovered.text
    assert facts(pages.system, RetryRequested, sub_id) == []


def test_another_contexts_token_can_neither_retry_nor_recover(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    sub_id, here = _failed(pages, endpoints(), clock)
    with signed_in(pages, context="ctx_arena") as browser:
        csrf = csrf_of(browser.get("/contexts/ctx_arena/webhooks").text)
        answers = [
            browser.post(f"{here}/retry", data={"csrf": csrf}),
            browser.post(here.replace("ctx_lobby", "ctx_arena") + "/retry", data={"csrf": csrf}),
            browser.post(f"/contexts/ctx_arena/webhooks/{sub_id}/recover",
                         data={"csrf": csrf, "since": "2000-01-01"}),
        ]  # fmt: skip
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert facts(pages.system, RetryRequested, sub_id) == []
