"""An endpoint that fails, seen in a browser: each retry on its schedule (the test's clock),
what went wrong in each attempt, the subscription failing since its first failure; then Retry
on the delivery's page sends it again, under the same webhook-id, once the endpoint is back."""

from __future__ import annotations

from signin_webhooks.eventstore.deliveries import AttemptRecorded
from tests.admin_in_browser.browser import Tab
from tests.admin_in_browser.test_deliveries import LIST, publish
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply, Reset
from tests.helpers import header, subscribe, wait_for_facts


def test_the_retries_and_what_went_wrong_are_on_the_delivery_page_and_retry_sends_it_again(
    sign_in, server: ApiServer, endpoints, clock
) -> None:
    endpoint: Endpoint = endpoints(Reply(503, body=b"down for maintenance"))
    endpoint.respond(Reply(500, body=b"database unavailable"), Reset())
    system = server.system
    sub = subscribe(system, endpoint, name="Lobby CRM", max_events=1, retry_schedule="1m,2m")
    sub_id = sub.subscription.id
    tab: Tab = sign_in(context="ctx_lobby")
    publish(server, "doomed")
    endpoint.wait_for(1)
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    clock.advance(minutes=1)
    endpoint.wait_for(2)
    wait_for_facts(system, AttemptRecorded, sub_id, 2)
    clock.advance(minutes=2)
    endpoint.wait_for(3)
    system.settled()

    assert tab.goto(f"{LIST}/{sub_id}") == 200
    assert tab.page.locator("dt:text-is('Failing since') + dd").inner_text() != "-"
    (delivery,) = system.deliveries.list(subscription_id=sub_id)
    row = tab.page.get_by_role("row").filter(has_text=delivery.id)
    assert row.get_by_role("cell").all_inner_texts()[1:3] == ["failed", "1"]
    assert row.get_by_role("cell").last.inner_text() == "3"

    assert tab.follow(delivery.id) == 200
    assert tab.page.locator("dt:text-is('Status') + dd").inner_text() == "failed"
    attempts = tab.page.locator("section", has=tab.page.get_by_role("heading", level=3))
    headings = [a.get_by_role("heading", level=3).inner_text() for a in attempts.all()]
    assert [h.split(" at ")[0] for h in headings] == [
        "Attempt 1 (schedule)",
        "Attempt 2 (schedule)",
        "Attempt 3 (schedule)",
    ]
    assert [h.split(" at ")[1].split(",")[0] for h in headings] == [
        "2026-01-31T09:00:00.000000Z",
        "2026-01-31T09:01:00.000000Z",
        "2026-01-31T09:03:00.000000Z",
    ]
    outcomes = [a.locator("p").first.inner_text() for a in attempts.all()]
    url = endpoint.url_for("/hook")
    assert outcomes[0] == f"POST {url}: HTTP 500 Internal Server Error [http_status] → retrying"
    assert (
        outcomes[1].startswith(f"POST {url}: ") and "[connection_reset] → retrying" in outcomes[1]
    )
    assert outcomes[2] == f"POST {url}: HTTP 503 Service Unavailable [http_status] → failed"
    assert "database unavailable" in attempts.nth(0).inner_text()
    assert "down for maintenance" in attempts.nth(2).inner_text()
    words = [a.locator("p", has_text="What went wrong:").inner_text() for a in attempts.all()]
    assert words == [
        "What went wrong: the endpoint answered HTTP 500.",
        "What went wrong: connection reset: the endpoint closed it before answering in full.",
        "What went wrong: the endpoint answered HTTP 503.",
    ]

    endpoint.set_default(Reply(200, body=b"back again"))
    assert tab.submit("Retry") == 200
    assert tab.path == f"/contexts/ctx_lobby/deliveries/{delivery.id}"
    assert "Retry requested" in tab.text()
    first, *_, again = endpoint.wait_for(4)
    system.settled()
    assert header(again, "webhook-id") == header(first, "webhook-id") == delivery.id
    assert again.body == first.body
    tab.reload()
    assert tab.page.locator("dt:text-is('Status') + dd").inner_text() == "succeeded"
    assert attempts.count() == 4
    last = attempts.nth(3)
    assert last.get_by_role("heading", level=3).inner_text().startswith("Attempt 4 (retry) at")
    assert f"POST {url}: HTTP 200 → succeeded" in last.inner_text()
    assert "back again" in last.inner_text()
    assert tab.page.get_by_role("button", name="Retry").count() == 0
