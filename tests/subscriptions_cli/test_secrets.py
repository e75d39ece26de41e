"""Secrets and redaction: printed once, rotated with grace, revoked; and what `show` tells."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import parse_time
from signin_webhooks.eventstore.events import decode_internal
from tests.helpers import PREFIX, fields_of
from tests.subscriptions_cli import PUBLIC_URL, audit, cli, create, ok, ok_json, refused, without


def test_the_secret_is_printed_only_by_create_and_rotate_secret() -> None:
    created = create("--header", "Authorization: Bearer t0k3n")
    sub_id, secret = created["id"], created["secret"]
    assert created["headers"] == {"Authorization": "[redacted]"}
    rotated = ok_json("subscriptions", "rotate-secret", sub_id)["secret"]
    outputs = [
        ok("subscriptions", "show", sub_id).stdout,
        ok("subscriptions", "show", sub_id, "--json").stdout,
        ok("subscriptions", "list").stdout,
        ok("subscriptions", "list", "--json").stdout,
        ok("subscriptions", "update", sub_id, "--name", "renamed", "--json").stdout,
        ok("subscriptions", "disable", sub_id).stdout,
        ok("subscriptions", "enable", sub_id, "--json").stdout,
        audit(),
    ]
    for output in outputs:
        for hidden in (secret, rotated, "t0k3n"):
            assert hidden not in output
    assert "[redacted]" in outputs[1] and "[redacted]" in outputs[-1]


def test_reveal_shows_secrets_and_header_values() -> None:
    created = create("--header", "Authorization: Bearer t0k3n")
    shown = ok_json("subscriptions", "show", created["id"], "--reveal")
    assert shown["headers"] == {"Authorization": "Bearer t0k3n"}
    [secret] = shown["secrets"]
    assert (secret["secret"], secret["expires_at"]) == (created["secret"], None)
    [row] = ok_json("subscriptions", "list", "--reveal")
    assert row["secrets"][0]["secret"] == created["secret"]


def test_rotation_keeps_the_old_secret_until_the_grace_ends() -> None:
    created = create()
    rotated = ok_json("subscriptions", "rotate-secret", created["id"], "--grace", "1h")
    new, old = ok_json("subscriptions", "show", created["id"], "--reveal")["secrets"]
    assert (new["secret"], new["expires_at"]) == (rotated["secret"], None)
    assert old["secret"] == created["secret"] and old["expires_at"]
    with WebhookSystem(deliver=False) as system:
        sub = system.subscriptions.reveal(system.subscriptions.get(created["id"]))
    expires, second = parse_time(old["expires_at"]), dt.timedelta(seconds=1)
    assert sub.valid_secrets(expires - second) == [rotated["secret"], created["secret"]]
    assert sub.valid_secrets(expires + second) == [rotated["secret"]]


def test_rotation_without_grace_leaves_only_the_new_secret_even_after_an_earlier_rotation() -> None:
    created = create()
    first = ok_json("subscriptions", "rotate-secret", created["id"])  # the default 24h grace
    assert len(ok_json("subscriptions", "show", created["id"])["secrets"]) == 2
    leaked = ok_json("subscriptions", "rotate-secret", created["id"], "--grace", "0")
    [only] = ok_json("subscriptions", "show", created["id"], "--reveal")["secrets"]
    assert only["secret"] == leaked["secret"] not in (created["secret"], first["secret"])
    with WebhookSystem(deliver=False) as system:
        now = dt.datetime.now(dt.UTC)
        sub = system.subscriptions.reveal(system.subscriptions.get(created["id"]))
        assert sub.valid_secrets(now) == [leaked["secret"]]


def test_a_shorter_grace_cuts_the_grace_of_earlier_secrets_too() -> None:
    sub_id = create()["id"]
    ok("subscriptions", "rotate-secret", sub_id, "--grace", "24h")
    ok("subscriptions", "rotate-secret", sub_id, "--grace", "1h")
    _, previous, earliest = ok_json("subscriptions", "show", sub_id)["secrets"]
    assert earliest["expires_at"] == previous["expires_at"]


def test_revoke_secret_retires_one_secret_in_its_grace_and_only_that_one() -> None:
    created = create()
    ok("subscriptions", "rotate-secret", created["id"])
    third = ok_json("subscriptions", "rotate-secret", created["id"])
    current, second, first = ok_json("subscriptions", "show", created["id"])["secrets"]
    assert (
        f"#{first['number']} [redacted] (until "
        in fields_of(ok("subscriptions", "show", created["id"]).stdout)["secrets"]
    )
    revoked = ok_json("subscriptions", "revoke-secret", created["id"], str(first["number"]))
    assert [s["number"] for s in revoked["secrets"]] == [current["number"], second["number"]]
    with WebhookSystem(deliver=False) as system:
        now = dt.datetime.now(dt.UTC)
        sub = system.subscriptions.reveal(system.subscriptions.get(created["id"]))
        signing = sub.valid_secrets(now)
    assert created["secret"] not in signing and third["secret"] in signing and len(signing) == 2
    line = refused("subscriptions", "revoke-secret", created["id"], str(current["number"]))
    assert line.endswith("is the current secret of " + created["id"] + "; rotate it with"
                         " --grace 0 to replace it at once")  # fmt: skip
    gone = refused("subscriptions", "revoke-secret", created["id"], str(first["number"]))
    assert gone == (f"{created['id']} has no secret {first['number']} in its grace"
                    f" (in grace: {second['number']})")  # fmt: skip


def test_plain_http_to_a_public_address_is_saved_with_a_warning_and_shown() -> None:
    plain = PUBLIC_URL.replace("https://", "http://")
    result = cli("subscriptions", "create", *without("--url"), "--url", plain, "--json")
    assert result.exit_code == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"{PREFIX}warning: '{plain}' is plain http to a public address")
    sub_id = json.loads(result.stdout)["id"]
    assert fields_of(ok("subscriptions", "show", sub_id).stdout)["url"] == (
        f"{plain} (plain http: unencrypted)"
    )
    assert "(plain http: unencrypted)" in ok("subscriptions", "list").stdout
    assert ok_json("subscriptions", "show", sub_id)["plain_http"] is True
    secure = create()
    assert secure["plain_http"] is False


def test_require_https_refuses_plain_http_endpoints() -> None:
    ok("settings", "set", "require_https", "true")
    plain = PUBLIC_URL.replace("https://", "http://")
    line = refused("subscriptions", "create", *without("--url"), "--url", plain)
    assert line == (
        f"--url '{plain}' is plain http, and the require_https setting asks for https:"
        " give an https:// URL"
    )
    sub_id = create()["id"]
    assert "require_https" in refused("subscriptions", "update", sub_id, "--url", plain)
    assert ok_json("settings", "show")["require_https"] is True


def test_durations_print_as_they_were_written() -> None:
    created = create("--flush-interval", "90m", "--retry-schedule", "90s, 2m", "--timeout", "60s")
    assert (created["flush_interval"], created["retry_schedule"], created["timeout"]) == (
        "90m", "90s,2m", "60s",
    )  # fmt: skip
    shown = fields_of(ok("subscriptions", "show", created["id"]).stdout)
    assert (shown["flush_interval"], shown["timeout"]) == ("90m", "60s")
    updated = ok_json("subscriptions", "update", created["id"], "--timeout", "1m30s")
    assert (updated["flush_interval"], updated["timeout"]) == ("90m", "1m30s")
    with WebhookSystem(deliver=False) as system:
        fields = system.subscriptions.get(created["id"]).fields
    assert (fields.flush_interval, fields.timeout) == (5400.0, 90.0)
    assert ok("settings", "set", "delivery_retention", "90m").stdout == "delivery_retention: 90m\n"
    assert ok_json("settings", "show")["delivery_retention"] == "90m"


def test_a_subscription_created_before_durations_were_kept_as_written_still_reads() -> None:
    v1 = (
        b'{"type":"subscription.created","v":1,"subscription_id":"sub_1","enabled":true,'
        b'"secret":"whsec_x","fields":{"name":"n","scope":"context","scope_id":"c",'
        b'"url":"https://example.com/","flush_interval":5400.0,"timeout":30.0}}'
    )
    old = decode_internal(v1)
    assert old.v == 1 and old.fields.written == {}  # type: ignore[attr-defined]  # a v1 fact
    assert old.fields.shown("flush_interval") == "1h30m"  # type: ignore[attr-defined]  # a v1 fact


@pytest.mark.parametrize("grace", ["abc", "-1s", "1.5h", "721h", ""])
def test_rotate_secret_refuses_a_bad_grace_and_stores_nothing(grace: str) -> None:
    sub_id = create()["id"]
    before = audit()
    assert "--grace" in refused("subscriptions", "rotate-secret", sub_id, "--grace", grace)
    assert audit() == before
