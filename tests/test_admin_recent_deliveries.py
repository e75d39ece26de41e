"""A subscription's recent deliveries on its page: each one's status, events, sequences, seal
and settle times and attempts; filtered by status and by the window they were sealed in; a
page at a time, on cursors that new deliveries never shift; refreshed in place."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from tests.admin_browser import signed_in
from tests.api_server import ApiServer
from tests.endpoint import Endpoint, Reply


@pytest.fixture
def pages(system: WebhookSystem) -> Iterator[ApiServer]:
    server = ApiServer(system, admin=True).start()
    yield server
    server.stop()


def _lobby(pages: ApiServer, endpoint: Endpoint) -> tuple[str, str]:
    sub = pages.system.subscriptions.create(
        name="Lobby CRM", url=endpoint.url_for("/hook"), context="ctx_lobby"
    ).subscription
    return sub.id, f"/contexts/ctx_lobby/webhooks/{sub.id}"


def _tested(pages: ApiServer, sub_id: str, n: int, clock: ManualClock) -> list[str]:
    """`n` test deliveries, a minute apart, oldest first."""
    made = []
    for _ in range(n):
        made.append(pages.system.subscriptions.test(sub_id)[0].id)
        clock.advance(minutes=1)
    return made


def _listed(page: str) -> list[str]:
    """The deliveries the page lists, in its order."""
    return re.findall(r'<td><a href="/contexts/ctx_lobby/deliveries/(dlv_[^"]+)"', page)


def _link(page: str, text: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*>{text}</a>', page)
    return html.unescape(found.group(1)) if found else None


def test_the_list_shows_each_deliverys_status_sequences_times_and_attempts(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    endpoint: Endpoint = endpoints()
    sub_id, here = _lobby(pages, endpoint)
    (made,) = _tested(pages, sub_id, 1, clock)
    delivery, _ = pages.system.deliveries.get(made)
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here)
    row = re.search(rf"<tr>\s*<td><a [^>]*>{made}</a>(.*?)</tr>", page.text, re.S)
    assert row is not None
    cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))]
    assert cells == ["succeeded", "1", "-..-", delivery.sealed_at, str(delivery.settled_at), "1"]
    assert "(test)" in row.group(1)


def test_the_list_filters_by_status_and_by_the_window_it_was_sealed_in(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    endpoint: Endpoint = endpoints()
    sub_id, here = _lobby(pages, endpoint)
    early = _tested(pages, sub_id, 2, clock)
    endpoint.set_default(Reply(500))
    failing = _tested(pages, sub_id, 1, clock)
    sealed = [pages.system.deliveries.get(d)[0].sealed_at for d in [*early, *failing]]
    with signed_in(pages, context="ctx_lobby") as browser:
        every = browser.get(here)
        failed = browser.get(here, params={"status": "failed"})
        succeeded = browser.get(here, params={"status": "succeeded"})
        window = browser.get(here, params={"since": sealed[1], "until": sealed[2]})
        ago = browser.get(here, params={"since": "2m"})  # of the clock: the last two
        none = browser.get(here, params={"since": "2100-01-01"})
    assert _listed(every.text) == [*early, *failing][::-1]
    assert _listed(failed.text) == failing
    assert 'value="failed" selected' in failed.text
    assert _listed(succeeded.text) == early[::-1]
    assert _listed(window.text) == [early[1]]
    assert f'value="{sealed[1]}"' in window.text  # the filter shown as given
    assert _listed(ago.text) == [failing[0], early[1]]
    assert "None matches this filter." in none.text


def test_a_filter_refused_is_named_beside_its_input(pages: ApiServer, endpoints) -> None:
    _, here = _lobby(pages, endpoints())
    with signed_in(pages, context="ctx_lobby") as browser:
        bad_time = browser.get(here, params={"since": "yesterday"})
        bad_status = browser.get(here, params={"status": "lost"})
        bad_cursor = browser.get(here, params={"after": "nonsense"})
    assert bad_time.status_code == 400
    beside = re.search(r'<p class="error" id="filter-since-error">(.*?)</p>', bad_time.text)
    assert beside is not None
    assert html.unescape(beside.group(1)) == (
        "since 'yesterday' is not an RFC 3339 time; write e.g. 2026-01-31T09:00:00Z,"
        " or a time ago such as 90m, 1h or 2d"
    )
    assert bad_status.status_code == 400
    beside = re.search(r'<p class="error" id="filter-status-error">(.*?)</p>', bad_status.text)
    assert beside is not None and html.unescape(beside.group(1)).startswith(
        "status 'lost' is not one of pending, retrying"
    )
    assert bad_cursor.status_code == 400
    assert "is not a cursor of this list" in bad_cursor.text


def test_the_list_pages_on_cursors_that_new_deliveries_never_shift(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    sub_id, here = _lobby(pages, endpoints())
    made = _tested(pages, sub_id, 23, clock)
    with signed_in(pages, context="ctx_lobby") as browser:
        first = browser.get(here, params={"status": "succeeded"})
        newer = _tested(pages, sub_id, 1, clock)  # before the first page now: not on the second
        older = _link(first.text, "Older deliveries")
        assert older is not None and "status=succeeded" in older
        second = browser.get(older)
    assert _listed(first.text) == made[::-1][:20]
    assert _listed(second.text) == made[::-1][20:]
    assert newer[0] not in second.text
    assert _link(second.text, "Older deliveries") is None
    newest = _link(second.text, "Newest deliveries")
    assert newest == f"{here}?status=succeeded#recent"
    # only the newest page refreshes itself; a later page holds still
    assert 'hx-trigger="every 2s"' in first.text and 'hx-trigger="every 2s"' not in second.text


def test_the_list_alone_refreshes_in_place_with_the_pages_filter(
    pages: ApiServer, endpoints, clock: ManualClock
) -> None:
    sub_id, here = _lobby(pages, endpoints())
    with signed_in(pages, context="ctx_lobby") as browser:
        page = browser.get(here, params={"status": "succeeded"})
        refresh = re.search(r'<div id="recent-list" hx-get="([^"]+)"', page.text)
        assert refresh is not None
        (made,) = _tested(pages, sub_id, 1, clock)
        alone = browser.get(html.unescape(refresh.group(1)))
    assert html.unescape(refresh.group(1)) == f"{here}/deliveries?status=succeeded"
    assert alone.status_code == 200
    assert alone.text.startswith('<div id="recent-list"') and "<html" not in alone.text
    assert _listed(alone.text) == [made]


def test_another_contexts_list_answers_404(pages: ApiServer, endpoints) -> None:
    sub_id, _ = _lobby(pages, endpoints())
    with signed_in(pages, context="ctx_arena") as browser:
        theirs = browser.get(f"/contexts/ctx_lobby/webhooks/{sub_id}/deliveries")
        mine = browser.get(f"/contexts/ctx_arena/webhooks/{sub_id}/deliveries")
    assert theirs.status_code == 404 and mine.status_code == 404
    assert "dlv_" not in theirs.text + mine.text
