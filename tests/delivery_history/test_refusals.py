"""Bad requests to the delivery commands: one clear line, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.helpers import subscribe


def test_the_installed_command_reports_an_unknown_delivery_in_one_line(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIGNIN_WEBHOOKS")}
    database = str(tmp_path / "fresh.db")
    WebhookSystem(database, deliver=False).store.close()
    for args, code in (
        (["deliveries", "show", "dlv_nope"], 2),
        (["subscriptions", "recover", "sub_nope", "--since", "yesterday"], 2),
        (["status"], 0),
    ):
        done = subprocess.run(
            [command, "--db", database, *args], env=env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        assert len(done.stderr.splitlines()) == (1 if code else 0)


@pytest.mark.parametrize(
    "args",
    [
        ["deliveries", "show", "dlv_nope"],
        ["deliveries", "retry", "dlv_nope"],
        ["deliveries", "retry", "dlv_nope", "--force"],
        ["subscriptions", "test", "sub_nope"],
        ["subscriptions", "recover", "sub_nope", "--since", "2026-01-01T00:00:00Z"],
        ["subscriptions", "recover", "sub_nope", "--since", "yesterday"],
        ["deliveries", "list", "--status", "lost"],
        ["replay", "--since", "yesterday"],
        ["settings", "set", "delivery_retention", "forever"],
        ["settings", "set", "log_retention", "-1h"],
    ],
)
def test_on_an_empty_database_a_bad_request_is_one_clear_line(operator, args) -> None:
    operator.refused(*args)


@pytest.mark.parametrize(
    "args",
    [
        ["deliveries", "list", "--json"],
        ["deliveries", "list", "--subscription", "sub_nope", "--json"],
        ["status", "--json"],
        ["retention", "--json"],
        ["retention", "--dry-run", "--json"],
        ["replay", "--stats", "--json"],
    ],
)
def test_reading_and_retention_commands_work_on_an_empty_database(operator, args) -> None:
    shown = json.loads(operator.ok(*args))
    if args[0] == "status":
        assert shown == {"running": False, "holder": None, "workers": [], "subscriptions": []}
    elif args[0] == "retention":
        assert (shown["expired_deliveries"], shown["compacted_events"]) == (0, 0)
    else:
        assert shown == []


def test_malformed_times_and_windows_are_refused_with_one_line(db, operator, endpoints) -> None:
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as offline:
        sub_id = subscribe(offline, endpoints()).subscription.id
    recover = ("subscriptions", "recover", sub_id)
    assert "--since 'yesterday'" in operator.refused(*recover, "--since", "yesterday")
    assert "--until" in operator.refused(
        *recover, "--since", "2026-01-31T09:00:00Z", "--until", "noon"
    )
    assert "time zone" in operator.refused(*recover, "--since", "2026-01-31T09:00:00")
    assert "later" in operator.refused(
        *recover, "--since", "2026-01-31T09:00:00Z", "--until", "2026-01-30T09:00:00Z"
    )
    assert "--since" in operator.refused(*recover)
    assert "no subscription" in operator.refused("subscriptions", "test", "sub_nope")
    assert "--type" in operator.refused("subscriptions", "test", sub_id, "--type", "signin.nope")
