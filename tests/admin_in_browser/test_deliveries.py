"""A Context admin in a browser: creates a subscription through the form, sees the deliveries
of events published over the API, the exact body the endpoint received and its answer, and
disables and enables the subscription, the backlog arriving in order."""

from __future__ import annotations

import json

from signin_webhooks.actors.signing import verify
from tests.admin_in_browser.browser import Tab
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply
from tests.helpers import event, header, ids, received_ids, subscribe

LIST = "/contexts/ctx_lobby/webhooks"


def publish(server: ApiServer, *keys: str) -> None:
    """Events of ctx_lobby, over the HTTP API, with a token of that context."""
    _, token = server.system.tokens.create(scope="context", context="ctx_lobby")
    with server.client(token) as http:
        answer = http.post("/events", json=[event(key) for key in keys])
    assert answer.status_code == 200, answer.text
    assert answer.json()["appended"] == len(keys)


def test_a_subscription_made_in_the_form_shows_what_its_endpoint_received_and_answered(
    sign_in, server: ApiServer, endpoints
) -> None:
    answer = Reply(202, headers={"X-Receipt": "rcpt-7"}, body=b'{"accepted": 3}')
    endpoint: Endpoint = endpoints(answer)
    tab: Tab = sign_in(context="ctx_lobby")
    assert tab.path == LIST
    assert "No subscriptions yet." in tab.text()

    assert tab.follow("New subscription") == 200
    form = tab.page.locator("form", has=tab.page.get_by_role("button", name="Create subscription"))
    form.get_by_label("Name", exact=True).fill("Lobby CRM")
    form.get_by_label("Description", exact=True).fill("Guest sign-ins for the CRM")
    form.get_by_label("Endpoint URL").fill(endpoint.url_for("/hook"))
    form.get_by_label("Events per delivery").fill("3")
    form.get_by_label("Enabled: deliver from now on").check()
    assert tab.submit("Create subscription", within=form) == 200
    (sub,) = server.system.subscriptions.list()
    assert tab.path == f"{LIST}/{sub.id}"
    assert "Subscription 'Lobby CRM' created." in tab.text()
    secret = tab.page.get_by_label("Signing secret, shown this once").input_value()

    publish(server, "ev_1", "ev_2", "ev_3")
    (received,) = endpoint.wait_for(1)
    server.system.settled()
    tab.reload()
    assert "shown this once" not in tab.text()
    (delivery,) = server.system.deliveries.list(subscription_id=sub.id)
    row = tab.page.get_by_role("row").filter(has_text=delivery.id)
    assert row.get_by_role("cell").all_inner_texts()[1:3] == ["succeeded", "3"]
    tab.picture("subscription")

    assert tab.follow(delivery.id) == 200
    assert tab.path == f"/contexts/ctx_lobby/deliveries/{delivery.id}"
    tab.picture("delivery", top=tab.page.get_by_role("heading", name="Attempts"))
    assert ids(received) == ["ev_1", "ev_2", "ev_3"]
    assert verify(secret, header(received, "webhook-id"),
                  int(header(received, "webhook-timestamp")), received.body,
                  header(received, "webhook-signature"))  # fmt: skip
    tab.page.get_by_text("Raw bytes").click()
    shown = tab.page.locator("details pre").inner_text()
    assert shown == received.body.decode()
    pretty = tab.page.get_by_role("heading", name="Body sent").locator("xpath=following::pre[1]")
    assert json.loads(pretty.inner_text()) == json.loads(received.body)
    attempt = tab.page.locator("section", has_text="Attempt 1")
    assert f"POST {endpoint.url_for('/hook')}: HTTP 202" in attempt.inner_text()
    response = attempt.get_by_role("heading", name="Response").locator("xpath=following::pre[1]")
    assert "X-Receipt: rcpt-7" in response.inner_text()
    assert response.inner_text().endswith('{"accepted": 3}')

    assert tab.follow("Lobby CRM") == 200
    assert tab.follow("All webhooks") == 200
    assert tab.path == LIST
    listed = tab.page.get_by_role("row").filter(has_text="Lobby CRM")
    assert "Guest sign-ins for the CRM" in listed.inner_text()
    assert endpoint.url_for("/hook") in listed.inner_text()
    tab.picture("list")


def test_disabled_it_sends_nothing_and_enabled_its_backlog_arrives_in_order(
    sign_in, server: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub = subscribe(server.system, endpoint, name="Lobby CRM", max_events=1).subscription
    tab: Tab = sign_in(context="ctx_lobby")
    publish(server, "before")
    endpoint.wait_for(1)

    assert tab.goto(f"{LIST}/{sub.id}") == 200
    assert tab.submit("Disable") == 200
    assert "Enabled\nno" in tab.text()
    publish(server, "during_1", "during_2", "during_3")
    server.system.settled()
    assert received_ids(endpoint) == ["before"]
    tab.reload()
    statuses = tab.page.get_by_role("row").filter(has=tab.page.locator("td"))
    assert statuses.count() == 4
    assert tab.page.locator("dt:text-is('Backlog') + dd").inner_text() == "3"

    assert tab.submit("Enable, resuming where it stopped") == 200
    endpoint.wait_for(4)
    server.system.settled()
    assert received_ids(endpoint) == ["before", "during_1", "during_2", "during_3"]
    tab.reload()
    assert "Enabled\nyes" in tab.text()
    assert tab.page.locator("dt:text-is('Backlog') + dd").inner_text() == "0"
    cells = [r.get_by_role("cell").nth(1).inner_text() for r in statuses.all()]
    assert cells == ["succeeded"] * 4
