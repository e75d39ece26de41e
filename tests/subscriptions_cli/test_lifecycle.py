"""Every command, on a fresh database and after a restart: the whole lifecycle, one invocation
at a time, and what it prints."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import fields_of
from tests.subscriptions_cli import (
    BASE,
    PUBLIC_URL,
    TABLE_HEADER,
    audit,
    create,
    ok,
    ok_json,
    refused,
)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["subscriptions", "list", "--json"], []),
        (["subscriptions", "list", "--all", "--json"], []),
        (["settings", "show", "--json"], {"delivery_pool_size": 16}),
    ],
)
def test_reading_commands_work_on_a_fresh_database(args: list[str], expected: Any) -> None:
    shown = json.loads(ok(*args).stdout)
    if isinstance(expected, dict):
        assert expected.items() <= shown.items()
    else:
        assert shown == expected


def test_list_on_a_fresh_database_prints_only_the_header() -> None:
    assert ok("subscriptions", "list").stdout.split() == TABLE_HEADER


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["update", "--name", "x"],
        ["enable"],
        ["enable", "--from-now"],
        ["disable"],
        ["delete"],
        ["rotate-secret"],
    ],
)
def test_an_unknown_id_is_one_clear_line(command: list[str]) -> None:
    line = refused("subscriptions", command[0], "sub_nope", *command[1:])
    assert line == "no subscription 'sub_nope'; `subscriptions list` shows the ids"
    assert audit() == ""


@pytest.mark.parametrize(
    "command",
    [
        ["update", "--name", "x"],
        ["enable"],
        ["disable"],
        ["delete"],
        ["rotate-secret"],
    ],
)
def test_a_deleted_id_is_one_clear_line_saying_it_was_deleted(command: list[str]) -> None:
    sub_id = create()["id"]
    ok("subscriptions", "delete", sub_id)
    before = audit()
    line = refused("subscriptions", command[0], sub_id, *command[1:])
    assert line.startswith(f"subscription '{sub_id}' was deleted at ")
    assert audit() == before


def test_show_of_a_deleted_subscription_shows_it_as_it_was_marked_deleted() -> None:
    sub_id = create("--description", "the CRM")["id"]
    ok("subscriptions", "delete", sub_id)
    shown = fields_of(ok("subscriptions", "show", sub_id).stdout)
    assert shown["state"] == "deleted"
    assert shown["description"] == "the CRM" and shown["deleted_at"]
    as_json = ok_json("subscriptions", "show", sub_id)
    assert as_json["deleted"] is True and as_json["name"] == "CRM"


def test_the_whole_lifecycle_works_one_invocation_at_a_time() -> None:
    created = create("--header", "Authorization: Bearer t0k3n", "--event", "signin.session.*")
    sub_id, secret = created["id"], created["secret"]
    assert secret.startswith("whsec_")
    assert created["enabled"] is True and created["events"] == ["signin.session.*"]

    shown = ok_json("subscriptions", "show", sub_id)
    assert {k: v for k, v in shown.items() if k not in ("id", "secret")} == {
        k: v for k, v in created.items() if k not in ("id", "secret")
    }

    updated = ok_json("subscriptions", "update", sub_id, "--name", "CRM (EU)", "--max-events", "5")
    assert (updated["name"], updated["max_events"], updated["url"]) == ("CRM (EU)", 5, PUBLIC_URL)
    assert "secret" not in updated

    assert ok_json("subscriptions", "disable", sub_id)["enabled"] is False
    assert ok_json("subscriptions", "enable", sub_id)["enabled"] is True
    ok("subscriptions", "disable", sub_id)
    assert ok_json("subscriptions", "enable", sub_id, "--from-now")["enabled"] is True

    rotated = ok_json("subscriptions", "rotate-secret", sub_id)
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert len(rotated["secrets"]) == 2

    assert ok("settings", "set", "delivery_retention", "24h").stdout == "delivery_retention: 24h\n"
    assert ok_json("settings", "show")["delivery_retention"] == "24h"

    [row] = ok_json("subscriptions", "list")
    assert (row["id"], row["name"], row["max_events"]) == (sub_id, "CRM (EU)", 5)

    deleted = ok_json("subscriptions", "delete", sub_id)
    assert deleted["deleted"] is True and deleted["deleted_at"]
    assert ok_json("subscriptions", "list") == []
    assert [s["id"] for s in ok_json("subscriptions", "list", "--all")] == [sub_id]


def test_every_command_prints_readable_text_without_json() -> None:
    text = ok("subscriptions", "create", *BASE, "--flush-interval", "1h30m").stdout
    shown = fields_of(text)
    sub_id = shown["id"]
    assert shown["secret"].startswith("whsec_")
    assert shown["name"] == "CRM" and shown["context_id"] == "ctx_lobby"
    assert shown["flush_interval"] == "1h30m"
    for args in (
        ["show", sub_id],
        ["update", sub_id, "--description", "the CRM"],
        ["disable", sub_id],
        ["enable", sub_id],
        ["enable", sub_id, "--from-now"],
        ["rotate-secret", sub_id],
        ["delete", sub_id],
    ):
        assert fields_of(ok("subscriptions", *args).stdout)["id"] == sub_id
    assert "delivery_pool_size" in ok("settings").stdout


def test_list_is_a_readable_table_with_one_row_per_subscription() -> None:
    first = create("--event", "signin.dhcp.*")["id"]
    second = ok_json(
        "subscriptions", "create", "--name", "SIEM", "--url", PUBLIC_URL, "--organization",
        "org_acme", "--disabled",
    )["id"]  # fmt: skip
    header, *rows = ok("subscriptions", "list").stdout.splitlines()
    assert header.split() == TABLE_HEADER
    assert sorted(row.split() for row in rows) == sorted(
        [
            [first, "CRM", "context", "ctx_lobby", PUBLIC_URL, "signin.dhcp.*", "enabled"],
            [second, "SIEM", "organization", "org_acme", PUBLIC_URL, "*", "disabled"],
        ]
    )


def test_list_leaves_out_deleted_subscriptions_and_all_shows_them() -> None:
    kept, gone = create()["id"], create()["id"]
    ok("subscriptions", "delete", gone)
    assert [s["id"] for s in ok_json("subscriptions", "list")] == [kept]
    assert gone not in ok("subscriptions", "list").stdout
    table = ok("subscriptions", "list", "--all").stdout
    assert any(gone in row and row.endswith("deleted") for row in table.splitlines())
    every = {s["id"]: s["deleted"] for s in ok_json("subscriptions", "list", "--all")}
    assert every == {kept: False, gone: True}


def test_durations_print_back_the_way_they_were_written() -> None:
    sub = create(
        "--flush-interval", "500ms", "--retry-schedule", "30s,1m30s,2h", "--timeout", "1m5s"
    )
    assert (sub["flush_interval"], sub["retry_schedule"], sub["timeout"]) == (
        "500ms",
        "30s,1m30s,2h",
        "1m5s",
    )
    updated = ok_json("subscriptions", "update", sub["id"], "--flush-interval", "0")
    assert updated["flush_interval"] == "0"
