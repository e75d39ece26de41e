"""A new subscription started earlier than its creation: `--from-sequence` and `--since`."""

from __future__ import annotations

from typing import Any

from tests.helpers import event, ids, invoke, received_ids, subscribe, wait_until


def test_create_from_sequence_or_since_sends_what_the_log_already_holds_once(
    system, operator, endpoints, clock
):
    early, late = endpoints(), endpoints()
    system.publish([event("e1"), event("e2")])
    clock.advance(hours=3)
    third = system.publish(event("e3")).first_sequence
    base = ["subscriptions", "create", "--name", "n", "--context", "ctx_lobby", "--json"]
    base += ["--max-events", "1", "--flush-interval", "0"]
    result = operator(*base, "--url", early.url_for("/hook"), "--from-sequence", str(third - 1))
    assert result.exit_code == 0, result.stderr
    assert "2 events already in the log requested for it" in result.stderr
    result = operator(*base, "--url", late.url_for("/hook"), "--since", "1h")
    assert "1 events already in the log requested for it" in result.stderr
    system.publish(event("e4"))
    assert received_ids(wait_until(lambda: len(early.requests) == 3 and early, "3")) == [
        "e2", "e3", "e4",
    ]  # fmt: skip
    assert [i for r in late.wait_for(2) for i in ids(r)] == ["e3", "e4"]
    assert "--from-sequence" in operator.refused(*base, "--url", early.url, "--since", "1h",
                                                  "--from-sequence", "1")  # fmt: skip


def test_an_event_published_as_a_subscription_is_created_from_a_sequence_comes_after_the_backlog(
    system, endpoints
):
    endpoint = endpoints()
    system.publish([event("e1"), event("e2")])
    ledger = system.subscriptions.ledger
    wake, published = ledger.wake, list[Any]()

    def publish_once_recorded() -> None:  # the first moment another publisher could append
        if not published:
            published.append("live")
            system.publish(event("live"))
        wake()

    ledger.wake = publish_once_recorded
    try:
        subscribe(system, endpoint, from_sequence=1, max_events=1, flush_interval=0)
    finally:
        ledger.wake = wake
    assert published
    assert [i for r in endpoint.wait_for(3) for i in ids(r)] == ["e1", "e2", "live"]


def test_create_says_a_new_subscription_receives_what_is_published_after_it() -> None:
    shown = " ".join(invoke("subscriptions", "create", "--help").stdout.split())
    assert "receives the events published after it is created" in shown
    assert "--from-sequence N" in shown and "--since TIME" in shown
