"""`settings show` and `settings set`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from signin_webhooks.eventstore.secrets import ENV_KEY_FILE
from tests.subscriptions_cli import audit, ok, ok_json, refused


def test_settings_show_every_key_with_its_value_and_what_it_sets(db: str | Path) -> None:
    header, *rows = ok("settings", "show").stdout.splitlines()
    assert header.split() == ["KEY", "VALUE", "SETS"]
    assert [row.split()[:2] for row in rows] == [
        ["delivery_retention", "72h"],
        ["log_retention", "off"],
        ["allow_private_networks", "false"],
        ["require_https", "false"],
        ["auto_disable_after", "120h"],
        ["retry_jitter", "10%"],
        ["operations_url", "off"],
        ["delivery_pool_size", "16"],
        ["connections_per_host", "4"],
        ["worker_lease", "15s"],
        ["max_request_bytes", "67108864"],
        ["idempotency_window", "24h"],
        ["secrets_key", f"file:{os.environ.get(ENV_KEY_FILE) or f'{db}.key'}"],
    ]
    assert ok("settings").stdout == ok("settings", "show").stdout


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("delivery_retention", "1h30m", "1h30m"),
        ("log_retention", "720h", "720h"),
        ("log_retention", "off", "off"),
        ("allow_private_networks", "1", "true"),
        ("allow_private_networks", "no", "false"),
        ("delivery_pool_size", "64", "64"),
        ("connections_per_host", "8", "8"),
        ("max_request_bytes", "1048576", "1048576"),
        ("idempotency_window", "1h", "1h"),
        ("retry_jitter", "25", "25%"),
    ],
)
def test_settings_set_saves_each_key_for_later_invocations(
    key: str, value: str, shown: str
) -> None:
    assert ok("settings", "set", key, value).stdout == f"{key}: {shown}\n"
    as_json = json.dumps(ok_json("settings", "show")[key])
    assert as_json == (shown if shown in ("true", "false") or shown.isdigit() else f'"{shown}"')
    assert "settings.changed" in audit()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("delivery_retention", "off"),
        ("delivery_retention", "0"),
        ("delivery_retention", "25"),
        ("delivery_retention", "87601h"),
        ("log_retention", "0"),
        ("log_retention", "forever"),
        ("allow_private_networks", "maybe"),
        ("allow_private_networks", ""),
        ("delivery_pool_size", "0"),
        ("delivery_pool_size", "257"),
        ("delivery_pool_size", "-1"),
        ("delivery_pool_size", "1.5"),
        ("delivery_pool_size", "\u00b2"),
        ("connections_per_host", "0"),
        ("connections_per_host", "65"),
        ("pool_size", "4"),
    ],
)
def test_settings_set_refuses_a_bad_value_and_stores_nothing(key: str, value: str) -> None:
    before = ok("settings", "show", "--json").stdout
    assert key in refused("settings", "set", "--", key, value)
    assert audit() == ""
    assert ok("settings", "show", "--json").stdout == before
