"""The pages fit the screen, a desktop's and a phone's: none scrolls sideways, long URLs, ids,
times and bodies wrapping instead."""

from __future__ import annotations

import pytest

from tests.admin_in_browser.browser import Tab
from tests.admin_in_browser.test_deliveries import LIST, publish
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply
from tests.helpers import subscribe

# What makes a page too wide: the innermost elements whose content is wider than their box.
WIDEST = """[...document.querySelectorAll("body *")]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0)
  .filter(e => ![...e.querySelectorAll("*")].some(c => c.scrollWidth > c.clientWidth + 1))
  .slice(0, 3).map(e => `<${e.tagName.toLowerCase()}> ${e.textContent.slice(0, 40)}`).join("; ")"""


@pytest.mark.parametrize("width", [1000, 375])
def test_no_page_scrolls_sideways(sign_in, server: ApiServer, endpoints, width: int) -> None:
    endpoint: Endpoint = endpoints(Reply(200, body=b'{"received": "' + b"x" * 300 + b'"}'))
    long_path = "/hooks/signin/" + "a-rather-long-path-segment/" * 4
    saved = subscribe(server.system, endpoint.url_for(long_path), name="Lobby CRM", max_events=1)
    sub = saved.subscription
    publish(server, "ev_with_a_long_enough_id_to_matter_on_a_phone")
    endpoint.wait_for(1)
    server.system.settled()
    (delivery,) = server.system.deliveries.list(subscription_id=sub.id)
    tab: Tab = sign_in(context="ctx_lobby")
    tab.page.set_viewport_size({"width": width, "height": 700})

    pages = [LIST, f"{LIST}/new", f"{LIST}/{sub.id}",
             f"/contexts/ctx_lobby/deliveries/{delivery.id}", "/catalogue"]  # fmt: skip
    for path in pages:
        assert tab.goto(path) == 200, path
        wide = tab.page.evaluate("document.documentElement.scrollWidth")
        widest = tab.page.evaluate(WIDEST)
        assert wide <= width, f"{path} is {wide} px wide on a {width} px screen: {widest}"
