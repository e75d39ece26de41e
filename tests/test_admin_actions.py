"""The actions on a subscription's page, each a POST form with the session's CSRF token:
disable and enable (resuming where it stopped, or from now), rotate the secret (shown once),
send a test delivery and see its outcome, delete after a confirmation step; another tenant's
token finds none of them."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.admin_browser import csrf_of, error_beside, signed_in
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply
from tests.helpers import event


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _lobby(pages: ApiServer, url: str = "https://crm.example.com/h") -> tuple[str, str]:
    sub = pages.system.subscriptions.create(
        name="Lobby CRM", url=url, context="ctx_lobby", max_events=1, flush_interval="0"
    ).subscription
    return sub.id, f"/contexts/ctx_lobby/webhooks/{sub.id}"


def test_disable_then_enable_resumes_where_it_stopped(pages: ApiServer, endpoints) -> None:
    endpoint: Endpoint = endpoints()
    sub_id, here = _lobby(pages, endpoint.url_for("/hook"))
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        disabled = browser.post(f"{here}/disable", data={"csrf": csrf_of(page.text)})
        shown = browser.get(here)
        pages.system.publish([event("e1"), event("e2")])
        pages.system.settled()
        assert endpoint.requests == []
        enabled = browser.post(f"{here}/enable",
                               data={"csrf": csrf_of(shown.text), "from": "stopped"})  # fmt: skip
        after = browser.get(here)
    assert disabled.status_code == 303 and disabled.headers["location"] == here
    assert "Disabled" in shown.text and "Enable, resuming where it stopped" in shown.text
    assert enabled.status_code == 303 and "resuming where it stopped" in after.text
    endpoint.wait_for(2)
    assert [json.loads(r.body)[0]["id"] for r in endpoint.requests] == ["e1", "e2"]
    assert pages.system.subscriptions.get(sub_id).enabled


def test_enable_from_now_skips_what_was_published_while_disabled(
    pages: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    sub_id, here = _lobby(pages, endpoint.url_for("/hook"))
    pages.system.subscriptions.disable(sub_id)
    pages.system.publish([event("skipped")])
    pages.system.settled()
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        browser.post(f"{here}/enable", data={"csrf": csrf_of(page.text), "from": "now"})
        after = browser.get(here)
    pages.system.publish([event("sent")])
    endpoint.wait_for(1)
    pages.system.settled()
    assert [json.loads(r.body)[0]["id"] for r in endpoint.requests] == ["sent"]
    assert "skipping what was published while disabled" in after.text


def test_rotate_secret_shows_the_new_secret_once(pages: ApiServer) -> None:
    sub_id, here = _lobby(pages)
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        bad = browser.post(f"{here}/rotate-secret",
                           data={"csrf": csrf_of(page.text), "grace": "soon"})  # fmt: skip
        rotated = browser.post(f"{here}/rotate-secret",
                               data={"csrf": csrf_of(page.text), "grace": "1h"})  # fmt: skip
        shown = browser.get(here)
        again = browser.get(here)
    secrets = pages.system.subscriptions.reveal(pages.system.subscriptions.get(sub_id)).secrets
    assert len(secrets) == 2
    new = max(secrets, key=lambda s: s.number).value
    assert bad.status_code == 400 and error_beside(bad.text, "grace")
    assert rotated.status_code == 303
    assert new in shown.text and "old one stays valid for 1h" in shown.text
    assert new not in again.text and all(s.value not in again.text for s in secrets)


def test_a_test_delivery_shows_its_outcome_on_the_page(pages: ApiServer, endpoints) -> None:
    good: Endpoint = endpoints()
    failing: Endpoint = endpoints(Reply(500, body=b"down"))
    _, here = _lobby(pages, good.url_for("/hook"))
    down = pages.system.subscriptions.create(name="Down", url=failing.url_for("/hook"),
                                             context="ctx_lobby").subscription  # fmt: skip
    there = f"/contexts/ctx_lobby/webhooks/{down.id}"
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
        sent = browser.post(f"{here}/test", data={"csrf": csrf_of(page.text),
                                                  "type": "signin.dhcp.granted"})  # fmt: skip
        outcome = browser.get(here)
        browser.post(f"{there}/test", data={"csrf": csrf_of(page.text), "type": ""})
        failed = browser.get(there)
    assert sent.status_code == 303
    (received,) = good.requests
    assert json.loads(received.body)[0]["type"] == "signin.dhcp.granted"
    (delivery,) = pages.system.deliveries.list(subscription_id=here.rsplit("/", 1)[1])
    assert "Test delivery sent." in outcome.text and "HTTP 200" in outcome.text
    assert f'href="/contexts/ctx_lobby/deliveries/{delivery.id}"' in outcome.text
    assert "succeeded" in outcome.text
    assert "http_status" in failed.text and "retrying" not in failed.text.split("Outcome")[0]


def test_delete_asks_to_confirm_then_deletes(pages: ApiServer) -> None:
    sub_id, here = _lobby(pages)
    with signed_in(pages, context="ctx_lobby") as browser:
        confirm = browser.get(f"{here}/delete")
        assert not pages.system.subscriptions.get(sub_id).deleted
        deleted = browser.post(f"{here}/delete", data={"csrf": csrf_of(confirm.text)})
        listed = browser.get(deleted.headers["location"])
    assert confirm.status_code == 200 and "Delete Lobby CRM?" in confirm.text
    assert f'action="{here}/delete"' in confirm.text
    assert deleted.headers["location"] == "/contexts/ctx_lobby/webhooks"
    assert pages.system.subscriptions.get(sub_id, deleted_ok=True).deleted
    assert "deleted" in listed.text and f'href="{here}"' not in listed.text


ACTIONS = ["enable", "disable", "rotate-secret", "test", "delete"]


def test_each_action_refuses_a_post_without_its_csrf_token(pages: ApiServer, endpoints) -> None:
    sub_id, here = _lobby(pages, endpoints().url_for("/hook"))
    pages.system.subscriptions.disable(sub_id)
    with signed_in(pages, context="ctx_lobby") as browser:
        answers = [browser.post(f"{here}/{action}", data={"csrf": "guessed"}) for action in ACTIONS]
        bare = [browser.post(f"{here}/{action}") for action in ACTIONS]
    assert [a.status_code for a in answers + bare] == [403] * 10
    sub = pages.system.subscriptions.get(sub_id)
    assert not sub.enabled and len(sub.secrets) == 1
    assert pages.system.deliveries.list(subscription_id=sub_id) == []


def test_another_contexts_token_finds_no_action_of_this_context(pages: ApiServer) -> None:
    sub_id, here = _lobby(pages)
    elsewhere = f"/contexts/ctx_arena/webhooks/{sub_id}"
    with signed_in(pages, context="ctx_arena") as browser:
        csrf = csrf_of(browser.get("/contexts/ctx_arena/webhooks").text)
        answers = [browser.get(f"{here}/delete"), browser.get(f"{elsewhere}/delete")]
        for action in ACTIONS:
            answers.append(browser.post(f"{here}/{action}", data={"csrf": csrf}))
            answers.append(browser.post(f"{elsewhere}/{action}", data={"csrf": csrf}))
    assert [a.status_code for a in answers] == [404] * 12
    assert all("Lobby CRM" not in a.text for a in answers)
    sub = pages.system.subscriptions.get(sub_id)
    assert sub.enabled and not sub.deleted and len(sub.secrets) == 1


def test_a_read_only_token_is_offered_no_action_and_cannot_act(pages: ApiServer) -> None:
    sub_id, here = _lobby(pages)
    with signed_in(pages, context="ctx_lobby", read_only=True) as browser:
        page = browser.get(here)
        confirm = browser.get(f"{here}/delete")
        refused = browser.post(f"{here}/disable", data={"csrf": csrf_of(page.text)})
    assert 'method="post" action="/signout"' in page.text
    assert page.text.count('method="post"') == 1 and f"{here}/delete" not in page.text
    assert "This token reads only" in page.text
    assert confirm.status_code == 403 and "read-only" in confirm.text
    assert refused.status_code == 403 and "read-only" in refused.text
    assert pages.system.subscriptions.get(sub_id).enabled


def test_another_organizations_token_finds_no_form_of_this_organization(
    pages: ApiServer,
) -> None:
    sub = pages.system.subscriptions.create(
        name="Acme SIEM", url="https://siem.example.com/h", organization="org_acme"
    ).subscription
    here = f"/organizations/org_acme/webhooks/{sub.id}"
    with signed_in(pages, organization="org_other") as browser:
        csrf = csrf_of(browser.get("/organizations/org_other/webhooks").text)
        answers = [browser.get(here), browser.get(f"{here}/delete"),
                   browser.post(here, data={"csrf": csrf, "name": "Theirs"})]  # fmt: skip
        answers += [browser.post(f"{here}/{action}", data={"csrf": csrf}) for action in ACTIONS]
    assert [a.status_code for a in answers] == [404] * 8
    assert all("Acme SIEM" not in a.text for a in answers)
    kept = pages.system.subscriptions.get(sub.id)
    assert kept.fields.name == "Acme SIEM" and kept.enabled and len(kept.secrets) == 1


def test_an_organization_acts_on_its_own_subscription(pages: ApiServer) -> None:
    sub = pages.system.subscriptions.create(
        name="Acme SIEM", url="https://siem.example.com/h", organization="org_acme"
    ).subscription
    here = f"/organizations/org_acme/webhooks/{sub.id}"
    with signed_in(pages, organization="org_acme") as browser:
        page = browser.get(here)
        disabled = browser.post(f"{here}/disable", data={"csrf": csrf_of(page.text)})
    assert disabled.status_code == 303 and disabled.headers["location"] == here
    assert not pages.system.subscriptions.get(sub.id).enabled
