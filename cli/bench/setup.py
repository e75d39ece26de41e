"""Building benchmark databases through the Python API a host program uses: subscriptions made
by `system.subscriptions.create`, events published in bulk by `system.publish`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from signin_webhooks import WebhookSystem
from signin_webhooks.cli.samples import sample_events

CHUNK = 50_000


def _not_looked_up(host: str, port: int) -> list[str]:
    """The bench's endpoints are the sink, by address, or hosts it never sends to: saving a
    subscription looks nothing up (and says so in a warning the bench does not show)."""
    raise OSError(f"the bench does not look up {host}")


def add_subscriptions(db: str | Path, specs: list[dict[str, Any]]) -> list[str]:
    """Create a subscription for each spec (`create`'s keywords: name, url, context or
    organization, enabled, and any field); their ids. The sink is on this machine."""
    with WebhookSystem(
        db, deliver=False, allow_private_networks=True, resolver=_not_looked_up
    ) as system:
        return [system.subscriptions.create(**spec).subscription.id for spec in specs]


def publish_many(
    db: str | Path, n: int, contexts: list[str], organization: str = "org_acme"
) -> None:
    """`n` sample events, in calls of CHUNK."""
    with WebhookSystem(db, deliver=False) as system:
        for start in range(0, n, CHUNK):
            events = sample_events(
                min(CHUNK, n - start), contexts=contexts, organization=organization, seed=start
            )
            system.publish(b"\n".join(msgspec.json.encode(e) for e in events))
