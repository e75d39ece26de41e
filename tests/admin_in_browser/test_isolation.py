"""In a browser: another Context's token reaches none of a Context's pages, nor its forms; a form
posted without its CSRF token is refused; the session cookie is out of a script's reach."""

from __future__ import annotations

from tests.admin_in_browser.browser import Tab
from tests.admin_in_browser.test_deliveries import LIST, publish
from tests.api_server import ApiServer
from tests.endpoint import Endpoint
from tests.helpers import subscribe


def test_another_contexts_token_reaches_none_of_its_pages_and_none_of_its_forms(
    sign_in, server: ApiServer, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    system = server.system
    sub = subscribe(system, endpoint, name="Lobby CRM", max_events=1).subscription
    publish(server, "ev_1")
    endpoint.wait_for(1)
    system.settled()
    (delivery,) = system.deliveries.list(subscription_id=sub.id)
    arena: Tab = sign_in(context="ctx_arena")
    assert arena.path == "/contexts/ctx_arena/webhooks"

    theirs = [
        LIST,
        f"{LIST}/new",
        f"{LIST}/{sub.id}",
        f"{LIST}/{sub.id}/delete",
        f"/contexts/ctx_lobby/deliveries/{delivery.id}",
        f"/contexts/ctx_arena/webhooks/{sub.id}",
        f"/contexts/ctx_arena/deliveries/{delivery.id}",
        "/organizations/org_acme/webhooks",
    ]
    for path in theirs:
        assert arena.goto(path) == 404, path
        assert "Lobby CRM" not in arena.text() and endpoint.url not in arena.text(), path

    assert arena.goto("/contexts/ctx_arena/webhooks") == 200
    csrf = arena.page.locator("input[name=csrf]").first.input_value()
    request = arena.page.request  # the tab's own cookies, its session's CSRF token
    for action in ("disable", "delete", "test", "rotate-secret"):
        answer = request.post(f"{server.url}{LIST}/{sub.id}/{action}", form={"csrf": csrf})
        assert answer.status == 404, action
    after = system.subscriptions.get(sub.id)
    assert after.enabled and len(after.secrets) == 1
    assert len(endpoint.requests) == 1


def test_a_form_posted_without_its_csrf_token_is_refused(sign_in, server: ApiServer, endpoints):
    endpoint: Endpoint = endpoints()
    sub = subscribe(server.system, endpoint, name="Lobby CRM").subscription
    lobby: Tab = sign_in(context="ctx_lobby")
    (cookie,) = [c for c in lobby.page.context.cookies() if c["name"] == "signin_webhooks_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert lobby.page.evaluate("document.cookie") == ""

    assert lobby.goto(f"{LIST}/{sub.id}") == 200
    disable = lobby.page.locator("form", has=lobby.page.get_by_role("button", name="Disable"))
    disable.locator("input[name=csrf]").evaluate("input => input.remove()")
    assert lobby.submit("Disable", within=disable) == 403
    assert "this form came without its CSRF token" in lobby.text()
    assert server.system.subscriptions.get(sub.id).enabled

    assert lobby.goto(f"{LIST}/{sub.id}") == 200
    disable.locator("input[name=csrf]").evaluate("input => input.value = 'forged'")
    assert lobby.submit("Disable", within=disable) == 403
    assert server.system.subscriptions.get(sub.id).enabled
    assert lobby.goto(f"{LIST}/{sub.id}") == 200
    assert lobby.submit("Disable", within=disable) == 200
    assert not server.system.subscriptions.get(sub.id).enabled
