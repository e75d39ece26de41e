"""DNS rebinding: a host whose DNS answer turns private after the subscription was saved is
blocked before any connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from tests.endpoint import Endpoint
from tests.helpers import wait_until
from tests.hostile_input import PRIMER, PUBLIC_ADDRESS


class Rebinding:
    """A resolver that answers a public address once (when the subscription is saved) and
    `later` every time after (when the delivery connects)."""

    def __init__(self, later: list[str]) -> None:
        self.later = later
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        return [PUBLIC_ADDRESS] if len(self.asked) == 1 else list(self.later)


def wait_for_attempt(system: WebhookSystem, sub_id: str, timeout: float = 5.0) -> Any:
    def first_attempt() -> Any:
        for delivery in system.deliveries.list(subscription_id=sub_id):
            _, attempts = system.deliveries.get(delivery.id)
            if attempts:
                return attempts[0]
        return None

    return wait_until(first_attempt, "a delivery attempt", timeout, interval=0.02)


@pytest.mark.parametrize(
    "later",
    [["127.0.0.1"], ["::ffff:127.0.0.1"], ["0.0.0.0"], [PUBLIC_ADDRESS, "127.0.0.1"]],
    ids=["loopback", "ipv4-mapped-loopback", "unspecified", "private-among-public"],
)
def test_a_host_whose_dns_answer_turns_private_after_saving_is_blocked_at_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, later: list[str]
) -> None:
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    resolver = Rebinding(later)
    system = WebhookSystem(tmp_path / "hooks.db", resolver=resolver, allow_private_networks=False)
    with Endpoint() as endpoint, system:
        saved = system.subscriptions.create(
            name="rebinding",
            url=endpoint.url_for("/hook", host="hooks.rebind.example"),
            context="ctx_lobby",
            max_events=1,
            timeout="2s",
        )
        # the save-time check saw a public address, reached by plain http (so warned of that)
        assert [w for w in saved.warnings if "is plain http to a public address" not in w] == []
        system.publish(PRIMER)

        attempt = wait_for_attempt(system, saved.subscription.id)

        assert attempt.error_kind == "blocked_address"
        assert attempt.status is None
        assert len(resolver.asked) >= 2
        assert set(resolver.asked) == {"hooks.rebind.example"}
        assert endpoint.connections == 0
        assert endpoint.requests == []
