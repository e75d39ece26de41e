"""What a host program may import is written down once per package, in its `__all__`."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

PUBLIC = {
    "signin_webhooks.actors": {
        "AlreadyRunning", "ManualClock", "SystemClock", "WebhookSystem", "database_path",
    },
    "signin_webhooks.eventstore": {
        "CATALOGUE", "EVENT_TYPES", "MAX_DEPTH", "MAX_EVENT_BYTES", "MAX_INPUT_BYTES",
        "AppendResult", "EventCounts", "EventLog",
        "Filter", "InternalEvent", "InvalidInput", "NotFound", "Projection", "Projector",
        "Published", "Record", "SigninWebhooksError", "Store", "StoreError", "format_time",
        "parse_events", "parse_time", "read_events", "utc_now",
    },
    "signin_webhooks.cli": {"main"},
}  # fmt: skip


@pytest.mark.parametrize("package", sorted(PUBLIC))
def test_each_package_states_its_public_api_and_every_name_imports(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == PUBLIC[package]
    for name in module.__all__:
        assert getattr(module, name) is not None


def test_the_webhook_system_offers_what_a_host_program_needs(tmp_path: Path) -> None:
    from signin_webhooks.actors import WebhookSystem

    system = WebhookSystem(tmp_path / "hooks.db", deliver=False)
    parts = {
        system: ("start", "stop", "publish", "replay", "routed", "status", "retention", "running"),
        system.subscriptions: (
            "list", "get", "create", "update", "enable", "disable", "delete", "rotate_secret",
            "test", "recover",
        ),
        system.deliveries: ("list", "get", "body", "retry"),
        system.settings: ("show", "set"),
    }  # fmt: skip
    for part, methods in parts.items():
        for method in methods:
            assert callable(getattr(part, method)), method
