"""Delivery history and the operator's tools, as an operator uses them: a running WebhookSystem
on a ManualClock, real HTTP endpoints on 127.0.0.1, and the `signin-webhooks` commands run
against the same database file. The commands run on the test's clock too, so the times they
record and compare line up with the system's; time passes by advancing it, never by sleeping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.deliveries import DeliveryHistory
from tests.endpoint import Endpoint
from tests.helpers import event, invoke, one_error_line, subscribe, wait_until

HISTORY_TABLES = ("deliveries", "attempts", "batch_positions")


class Operator:
    """Runs `signin-webhooks --db <db> --allow-private-networks ...` in this process."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def __call__(self, *args: str) -> Result:
        return invoke("--db", str(self.db), "--allow-private-networks", *args)

    def ok(self, *args: str) -> str:
        result = self(*args)
        assert result.exit_code == 0, (args, result.stdout, result.stderr)
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def refused(self, *args: str, code: int = 2) -> str:
        """The one error line of a refused command, without its prefix."""
        result = self(*args)
        assert result.exit_code == code, (args, result.stdout, result.stderr)
        return one_error_line(result.stderr, result.stdout)


class Systems:
    """Starts and stops the running system on the test's database, as `run` would."""

    def __init__(self, db: Path, clock: ManualClock) -> None:
        self.db, self.clock = db, clock
        self.running: WebhookSystem | None = None

    def start(self) -> WebhookSystem:
        assert self.running is None
        self.running = WebhookSystem(self.db, clock=self.clock, allow_private_networks=True)
        return self.running.start()

    def stop(self) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None


def delivery_of(operator: Operator, sub_id: str, count: int = 1, **expected: Any) -> dict[str, Any]:
    """Wait until the subscription has `count` deliveries, the newest showing `expected`."""

    def check() -> dict[str, Any] | None:
        found = operator.json("deliveries", "list", "--subscription", sub_id)
        if len(found) == count and all(found[0][k] == v for k, v in expected.items()):
            return found[0]
        return None

    return wait_until(check, f"{count} deliveries of {sub_id}, the newest with {expected}")


def statuses(operator: Operator, sub_id: str) -> list[str]:
    return sorted(
        d["status"] for d in operator.json("deliveries", "list", "--subscription", sub_id)
    )


def failed_delivery(
    system: WebhookSystem, operator: Operator, clock: ManualClock, endpoint: Endpoint, **fields
) -> tuple[str, str]:
    """A subscription whose delivery of one event failed twice, for good: its id, the delivery's."""
    sub_id = subscribe(
        system, endpoint, max_events=1, retry_schedule="1m", **fields
    ).subscription.id
    system.publish(event("doomed"))
    delivery_of(operator, sub_id, status="retrying", attempt_count=1)
    clock.advance(minutes=1)
    delivery = delivery_of(operator, sub_id, status="failed", attempt_count=2)
    return sub_id, delivery["id"]


def history_tables(db: Path, *, rebuild: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of the delivery history, as kept live, or rebuilt from the log."""
    store = Store(db)
    try:
        if rebuild:
            store.projector.rebuild(DeliveryHistory())
        conn = store.project(DeliveryHistory())
        return {t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall()) for t in HISTORY_TABLES}
    finally:
        store.close()


def assert_rebuild_equals_live(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    live = history_tables(db)
    assert history_tables(db, rebuild=True) == live
    return live
