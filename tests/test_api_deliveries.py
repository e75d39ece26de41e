"""/api/v1/deliveries, /catalogue, /status and /settings through a real server: filters, the
exact body sent with every attempt, retry, and pages that new deliveries never shift."""

from __future__ import annotations

from signin_webhooks.eventstore import CATALOGUE
from tests.api_server import ApiServer
from tests.endpoint import Endpoint
from tests.helpers import wait_until


def _tested(api: ApiServer, endpoint: Endpoint, n: int) -> tuple[str, list[str]]:
    subs = api.system.subscriptions
    sub = subs.create(name="t", url=endpoint.url_for("/hook"), context="ctx_lobby").subscription
    return sub.id, [subs.test(sub.id)[0].id for _ in range(n)]


def test_deliveries_list_newest_first_with_filters_and_show_the_exact_body(
    api: ApiServer, admin_token: str, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub_id, made = _tested(api, endpoint, 3)
    with api.client(admin_token) as http:
        listed = http.get("/deliveries", params={"subscription": sub_id}).json()
        succeeded = http.get("/deliveries", params={"status": "succeeded"}).json()
        one = http.get("/deliveries", params={"webhook-id": made[1]}).json()
        later = http.get("/deliveries", params={"since": "2100-01-01"}).json()
        bad_status = http.get("/deliveries", params={"status": "lost"})
        shown = http.get(f"/deliveries/{made[0]}").json()
        missing = http.get("/deliveries/dlv_nothing")
    assert [d["id"] for d in listed["data"]] == made[::-1]
    assert len(succeeded["data"]) == 3
    assert [d["id"] for d in one["data"]] == [made[1]]
    assert later["data"] == []
    assert bad_status.status_code == 400
    assert bad_status.json()["detail"].startswith("status 'lost' is not one of pending")
    assert shown["body"].encode() == endpoint.requests[0].body
    assert shown["attempts"][0]["response_status"] == 200
    assert shown["attempts"][0]["trigger"] == "test"
    assert missing.status_code == 404
    assert missing.json()["detail"].startswith("no delivery 'dlv_nothing'")


def test_delivery_pages_hold_still_while_new_deliveries_are_made(
    api: ApiServer, admin_token: str, endpoints
) -> None:
    sub_id, made = _tested(api, endpoints(), 5)
    with api.client(admin_token) as http:
        first = http.get("/deliveries", params={"limit": 2}).json()
        api.system.subscriptions.test(sub_id)  # newer: it goes before the first page
        second = http.get("/deliveries", params={"limit": 2, "after": first["next"]}).json()
        third = http.get("/deliveries", params={"limit": 2, "after": second["next"]}).json()
    seen = [d["id"] for page in (first, second, third) for d in page["data"]]
    assert seen == made[::-1]
    assert third["next"] is None


def test_retry_says_what_the_command_line_says_and_is_recorded(
    api: ApiServer, admin_token: str, endpoints
) -> None:
    sub_id, _ = _tested(api, endpoints(), 0)
    api.system.publish([{"type": "signin.session.created", "organization_id": "org_acme",
                         "context_id": "ctx_lobby", "session_id": "s1"}])  # fmt: skip
    count, requested = api.system.subscriptions.recover(sub_id, since="2000-01-01")
    delivery = wait_until(
        lambda: next(
            (d for d in api.system.deliveries.list(subscription_id=sub_id)
             if d.status == "succeeded"), None),
        "the recovered delivery to succeed",
    )  # fmt: skip
    with api.client(admin_token) as http:
        pending = http.post(f"/deliveries/{delivery.id}/retry")
        forced = http.post(f"/deliveries/{delivery.id}/retry", params={"force": "true"})
    assert count == 1 and requested is not None
    assert pending.status_code == 400
    assert pending.json()["detail"] == (
        f"delivery {delivery.id} has succeeded already; retry it anyway with force"
    )
    assert forced.status_code == 200 and forced.json()["requested"] is True


def test_catalogue_status_and_settings(api: ApiServer, admin_token: str) -> None:
    _, context_token = api.system.tokens.create(scope="context", context="ctx_lobby")
    with api.client(admin_token) as http:
        catalogue = http.get("/catalogue").json()
        status = http.get("/status").json()
        settings = http.get("/settings").json()
        changed = http.patch("/settings", json={"delivery_retention": "1h"}).json()
        unknown = http.patch("/settings", json={"colour": "red"})
        empty = http.patch("/settings", json={})
    with api.client(context_token) as http:
        refused = http.get("/settings")
    assert [c["type"] for c in catalogue] == list(CATALOGUE)
    assert status["running"] is True and status["holder"]
    assert settings["delivery_retention"] == "72h"
    assert changed["delivery_retention"] == "1h"
    assert unknown.status_code == 400 and "unknown setting 'colour'" in unknown.json()["detail"]
    assert empty.status_code == 400
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "this token's scope is context 'ctx_lobby'; this needs an admin token"
    )
