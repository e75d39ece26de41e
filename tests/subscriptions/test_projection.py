"""The subscriptions projection: rebuilt from the log, it is exactly the live state."""

from __future__ import annotations

import random

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.subscriptions import Subscriptions
from tests.helpers import event
from tests.subscriptions import URL

CHANGES = ["create", "update", "enable", "disable", "rotate", "delete", "publish"]


def test_rebuilding_the_projection_gives_exactly_the_live_state(system: WebhookSystem) -> None:
    rng = random.Random(3)
    ids: list[str] = []
    for step in range(300):
        live = [i for i in ids if not system.subscriptions.get(i, deleted_ok=True).deleted]
        choice = rng.choice(CHANGES)
        if choice == "create" or not live:
            organization, context = ("org_acme", None) if step % 3 else (None, f"ctx_{step}")
            saved = system.subscriptions.create(
                name=f"sub {step}", url=URL, organization=organization, context=context
            )
            ids.append(saved.subscription.id)
        elif choice == "update":
            system.subscriptions.update(
                rng.choice(live), name=f"renamed {step}", max_events=rng.randint(1, 1000)
            )
        elif choice == "enable":
            system.subscriptions.enable(rng.choice(live), from_now=rng.random() < 0.5)
        elif choice == "disable":
            system.subscriptions.disable(rng.choice(live), reason=f"step {step}")
        elif choice == "rotate":
            system.subscriptions.rotate_secret(rng.choice(live), grace=f"{step}s")
        elif choice == "delete":
            system.subscriptions.delete(rng.choice(live))
        else:
            system.publish([event(step)])
    store = system.store
    rows = "SELECT id, deleted, state FROM subscriptions ORDER BY id"
    live_rows = store.project(Subscriptions()).execute(rows).fetchall()
    assert len(live_rows) == len(ids)

    store.projector.page = 7  # many small pages: a subscription changes across page boundaries
    store.projector.rebuild(Subscriptions())
    assert store.db.conn.execute(rows).fetchall() == live_rows
