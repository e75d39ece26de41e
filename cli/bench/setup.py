"""Building benchmark databases quickly: subscriptions and events written in bulk."""

from __future__ import annotations

from pathlib import Path

import msgspec

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.signing import new_secret
from signin_webhooks.cli.samples import sample_events
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.subscription_fields import validate_fields
from signin_webhooks.eventstore.subscriptions import SubscriptionCreated

CHUNK = 50_000


def add_subscriptions(db: str | Path, specs: list[dict[str, object]]) -> list[str]:
    """Create many subscriptions in one transaction (the API makes one at a time)."""
    events = []
    for spec in specs:
        fields = {k: v for k, v in spec.items() if k != "enabled"}
        events.append(
            SubscriptionCreated(
                subscription_id=short_id("sub_"),
                fields=validate_fields(fields),
                enabled=bool(spec.get("enabled", True)),
                secret=new_secret(),
            )
        )
    with WebhookSystem(db, deliver=False) as system:
        system.store.log.append_internal(events)
    return [e.subscription_id for e in events]


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
