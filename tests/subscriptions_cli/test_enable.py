"""`enable` and `disable`: where a subscription resumes."""

from __future__ import annotations

import json

from signin_webhooks.actors import WebhookSystem
from tests.subscriptions_cli import audit, create, ok


def test_enable_from_now_moves_the_start_and_plain_enable_keeps_it() -> None:
    sub_id = create()["id"]
    with WebhookSystem(deliver=False) as system:
        created_start = system.subscriptions.get(sub_id).start_after
    ok("subscriptions", "disable", sub_id)
    ok("publish", input=input_events(2))
    ok("subscriptions", "enable", sub_id)
    with WebhookSystem(deliver=False) as system:
        assert system.subscriptions.get(sub_id).start_after == created_start
    ok("subscriptions", "disable", sub_id)
    ok("publish", input=input_events(2))
    ok("subscriptions", "enable", sub_id, "--from-now")
    enabled = json.loads(audit().splitlines()[-1])
    assert (enabled["type"], enabled["from_now"]) == ("subscription.enabled", True)
    with WebhookSystem(deliver=False) as system:
        assert system.subscriptions.get(sub_id).start_after == enabled["sequence"]


def input_events(n: int) -> str:
    return "\n".join(
        json.dumps(
            {
                "type": "signin.session.created",
                "organization_id": "org_acme",
                "context_id": "ctx_lobby",
                "session_id": f"ses_{i}",
            }
        )
        for i in range(n)
    )


def test_create_disabled_saves_it_disabled() -> None:
    assert create("--disabled")["enabled"] is False
