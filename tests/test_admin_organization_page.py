"""An Organization's Webhooks list its own subscriptions and those of the contexts part of it,
never another organization's contexts, whoever is signed in; each row links to the page of
the subscription's own scope."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.admin_browser import signed_in
from tests.api_server import ApiServer
from tests.helpers import event


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


@pytest.fixture
def subscriptions(pages: ApiServer) -> dict[str, str]:
    """One subscription in each of: org_acme, its context ctx_lobby (by its first event), its
    context ctx_desk (recorded by a token), org_other, and org_other's context ctx_rival."""
    system = pages.system
    system.publish([event("a1", context="ctx_lobby", organization="org_acme"),
                    event("b1", context="ctx_rival", organization="org_other")])  # fmt: skip
    system.tokens.create(scope="context", context="ctx_desk", organization="org_acme")
    made = {}
    scopes: list[tuple[str, dict[str, Any]]] = [
        ("Acme SIEM", {"organization": "org_acme"}),
        ("Lobby CRM", {"context": "ctx_lobby"}),
        ("Desk CRM", {"context": "ctx_desk"}),
        ("Other SIEM", {"organization": "org_other"}),
        ("Rival CRM", {"context": "ctx_rival"}),
    ]
    for name, scope in scopes:
        made[name] = system.subscriptions.create(
            name=name, url="https://crm.example.com/h", **scope
        ).subscription.id
    return made


@pytest.mark.parametrize("token", [{"scope": "admin"}, {"organization": "org_acme"}])
def test_an_organizations_page_lists_only_its_own_and_its_contexts_subscriptions(
    pages: ApiServer, subscriptions: dict[str, str], token: dict[str, str]
) -> None:
    with signed_in(pages, **token) as browser:
        page = browser.get("/organizations/org_acme/webhooks")
    assert page.status_code == 200
    for name in ("Acme SIEM", "Lobby CRM", "Desk CRM"):
        assert f"<strong>{name}</strong>" in page.text
    for name in ("Other SIEM", "Rival CRM"):
        assert name not in page.text
    lobby = subscriptions["Lobby CRM"]
    assert f'href="/contexts/ctx_lobby/webhooks/{lobby}"' in page.text
    acme = subscriptions["Acme SIEM"]
    assert f'href="/organizations/org_acme/webhooks/{acme}"' in page.text


def test_a_listed_contexts_subscription_opens_on_its_contexts_page(
    pages: ApiServer, subscriptions: dict[str, str]
) -> None:
    with signed_in(pages, organization="org_acme") as browser:
        opened = browser.get(f"/contexts/ctx_lobby/webhooks/{subscriptions['Lobby CRM']}")
        rival = browser.get(f"/contexts/ctx_rival/webhooks/{subscriptions['Rival CRM']}")
    assert opened.status_code == 200 and "Lobby CRM" in opened.text
    assert rival.status_code == 404
