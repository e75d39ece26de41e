"""The system's parts work on their own, over a ledger on a database file, and a subclass of
WebhookSystem can build its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.actors.delivery_manager import DeliveryManager
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.actors.settings_manager import SettingsManager
from signin_webhooks.actors.subscription_manager import SubscriptionManager
from signin_webhooks.eventstore import InvalidInput, NotFound
from signin_webhooks.eventstore.deliveries import Delivery
from signin_webhooks.eventstore.settings import SettingChanged
from tests.endpoint import Endpoint, Reply
from tests.helpers import event


@pytest.fixture
def ledger(db: Path, clock: ManualClock) -> Ledger:
    return Ledger(db, clock)


def parts(ledger: Ledger) -> tuple[SettingsManager, DeliveryManager, SubscriptionManager]:
    settings = SettingsManager(ledger, allow_private_override=True)
    deliveries = DeliveryManager(ledger)
    return settings, deliveries, SubscriptionManager(ledger, settings, deliveries)


def test_the_ledger_opens_the_store_on_first_use_and_wakes_after_each_record(db: Path) -> None:
    woken: list[None] = []
    ledger = Ledger(db, wake=lambda: woken.append(None))
    assert not db.exists()
    ledger.record(SettingChanged(key="delivery_retention", value="72h"))
    assert db.exists() and len(woken) == 1
    ledger.close()
    assert ledger.store.log.last_sequence() == 1  # reopened


def test_settings_alone_show_set_and_refuse_a_bad_value(ledger: Ledger) -> None:
    settings = SettingsManager(ledger)
    assert settings.set("delivery_retention", "72h").shown()["delivery_retention"] == "72h"
    assert settings.show().shown()["delivery_retention"] == "72h"
    with pytest.raises(InvalidInput):
        settings.set("delivery_retention", "soon")
    assert not settings.allow_private_networks()
    settings.set("allow_private_networks", "true")
    assert settings.allow_private_networks()
    assert SettingsManager(ledger, allow_private_override=True).allow_private_networks()


def test_subscriptions_alone_keep_their_lifecycle(ledger: Ledger) -> None:
    _, _, subscriptions = parts(ledger)
    saved = subscriptions.create(name="crm", url="http://127.0.0.1:9/hook", context="ctx_lobby")
    assert saved.secret is not None
    sub_id = saved.subscription.id
    assert [s.id for s in subscriptions.list()] == [sub_id]
    assert subscriptions.update(sub_id, name="CRM").subscription.fields.name == "CRM"
    assert not subscriptions.disable(sub_id).enabled
    assert subscriptions.enable(sub_id).enabled
    assert subscriptions.rotate_secret(sub_id, grace="1h").secret != saved.secret
    assert subscriptions.delete(sub_id).deleted
    assert subscriptions.list() == []
    with pytest.raises(NotFound):
        subscriptions.get(sub_id)


def test_subscriptions_alone_test_an_endpoint_and_deliveries_alone_show_it(
    ledger: Ledger,
) -> None:
    _, deliveries, subscriptions = parts(ledger)
    with Endpoint(Reply(200)).start() as endpoint:
        sub = subscriptions.create(
            name="t", url=endpoint.url_for("/hook"), context="c"
        ).subscription
        delivery, attempt = subscriptions.test(sub.id)
    assert (delivery.status, attempt.status) == ("succeeded", 200)
    assert [d.id for d in deliveries.list()] == [delivery.id]
    assert deliveries.get(delivery.id)[1] == [attempt]
    assert b'"test":true' in deliveries.body(delivery)
    with pytest.raises(InvalidInput, match="not retried"):
        deliveries.retry(delivery.id)


def test_recover_alone_records_its_batches_as_a_request_that_waits_for_run(
    ledger: Ledger, clock: ManualClock
) -> None:
    _, deliveries, subscriptions = parts(ledger)
    sub = subscriptions.create(name="r", url="http://127.0.0.1:9/hook", context="ctx_lobby")
    since = clock()
    with WebhookSystem(ledger.path, deliver=False, clock=clock) as system:
        system.publish([event("evt_1"), event("evt_2")])
    count, requested = subscriptions.recover(sub.subscription.id, since=since)
    assert count == 2 and requested is not None and requested.waits
    assert [d.trigger for d in deliveries.list()] == ["recover"]


def test_a_subclass_builds_its_own_parts(db: Path) -> None:
    class Counted(DeliveryManager):
        asked = 0

        def list(self, **kwargs: Any) -> list[Delivery]:
            Counted.asked += 1
            return []

    class System(WebhookSystem):
        def construct_deliveries(self) -> DeliveryManager:
            return Counted(self.ledger)

    system = System(db, deliver=False)
    assert system.deliveries.list() == [] and Counted.asked == 1
    assert system.subscriptions.deliveries is system.deliveries
