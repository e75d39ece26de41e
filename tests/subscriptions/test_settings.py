"""Installation settings: saved and printed back as written, bad ones refused."""

from __future__ import annotations

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import InvalidInput
from tests.subscriptions import Opener, log_length


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("delivery_retention", "24h", "24h"),
        ("delivery_retention", "1h30m", "1h30m"),
        ("log_retention", "720h", "720h"),
        ("log_retention", "OFF", "off"),
        ("allow_private_networks", "yes", "true"),
        ("allow_private_networks", "0", "false"),
        ("delivery_pool_size", "1", "1"),
        ("delivery_pool_size", "256", "256"),
        ("connections_per_host", "64", "64"),
    ],
)
def test_each_setting_is_saved_and_prints_back_as_written(
    open_system: Opener, key: str, value: str, shown: str
) -> None:
    assert open_system().settings.set(key, value).shown()[key] == shown
    assert open_system().settings.show().shown()[key] == shown


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("delivery_retention", "off"),
        ("delivery_retention", "0"),
        ("delivery_retention", "abc"),
        ("delivery_retention", "87601h"),
        ("log_retention", "0"),
        ("log_retention", "-1h"),
        ("allow_private_networks", "maybe"),
        ("delivery_pool_size", "0"),
        ("delivery_pool_size", "257"),
        ("delivery_pool_size", "1.5"),
        ("delivery_pool_size", "many"),
        ("connections_per_host", "0"),
        ("connections_per_host", "65"),
        ("retention", "72h"),
    ],
)
def test_a_bad_setting_is_refused_and_nothing_is_stored(
    system: WebhookSystem, key: str, value: str
) -> None:
    with pytest.raises(InvalidInput, match=key):
        system.settings.set(key, value)
    assert log_length(system) == 0
