"""`subscriptions` and `settings` as a person drives them: each invocation is a fresh process's
worth of state on the same database file, so every command is also a command after a restart."""

from __future__ import annotations

import datetime as dt
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.system import ENV_DB
from signin_webhooks.eventstore import parse_time
from signin_webhooks.eventstore.events import decode_internal
from tests.helpers import PREFIX, fields_of, invoke, one_error_line

PUBLIC_URL = "https://93.184.216.34/hook"
LOCAL_URL = "http://127.0.0.1:8080/hook"
TABLE_HEADER = ["ID", "NAME", "SCOPE", "URL", "EVENTS", "STATE"]
BASE = ["--name", "CRM", "--url", PUBLIC_URL, "--context", "ctx_lobby"]


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hooks.db"
    WebhookSystem(path, deliver=False).store.close()  # empty, as after a first write
    monkeypatch.setenv(ENV_DB, str(path))
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    return path


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return invoke(*args, env=env, input=input)


def ok(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    result = cli(*args, env=env, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def ok_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def refused(*args: str, code: int = 2, env: dict[str, str] | None = None) -> str:
    """The one error line of a refused command, without its prefix."""
    result = cli(*args, env=env)
    assert result.exit_code == code, result.stdout
    return one_error_line(result.stderr, result.stdout)


def create(*extra: str) -> dict[str, Any]:
    return ok_json("subscriptions", "create", *BASE, *extra)


def audit() -> str:
    return ok("replay", "--all").stdout


def listed() -> str:
    return ok("subscriptions", "list", "--all", "--json").stdout


# -- every command, fresh and after a restart ------------------------------------------------


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


# -- secrets and redaction -------------------------------------------------------------------


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
    result = cli("subscriptions", "create", *_without("--url"), "--url", plain, "--json")
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
    line = refused("subscriptions", "create", *_without("--url"), "--url", plain)
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


# -- enable, disable -------------------------------------------------------------------------


def test_enable_from_now_moves_the_start_and_plain_enable_keeps_it() -> None:
    sub_id = create()["id"]
    with WebhookSystem(deliver=False) as system:
        created_start = system.subscriptions.get(sub_id).start_after
    ok("subscriptions", "disable", sub_id)
    ok("publish", input=input_events(2))
    ok("subscriptions", "enable", sub_id)
    with WebhookSystem(deliver=False) as system:
        assert system.subscriptions.get(sub_id).start_after == created_start
    ok("subscriptions", "disable", sub_id)
    ok("publish", input=input_events(2))
    ok("subscriptions", "enable", sub_id, "--from-now")
    enabled = json.loads(audit().splitlines()[-1])
    assert (enabled["type"], enabled["from_now"]) == ("subscription.enabled", True)
    with WebhookSystem(deliver=False) as system:
        assert system.subscriptions.get(sub_id).start_after == enabled["sequence"]


def input_events(n: int) -> str:
    return "\n".join(
        json.dumps(
            {
                "type": "signin.session.created",
                "organization_id": "org_acme",
                "context_id": "ctx_lobby",
                "session_id": f"ses_{i}",
            }
        )
        for i in range(n)
    )


def test_create_disabled_saves_it_disabled() -> None:
    assert create("--disabled")["enabled"] is False


# -- hostile input ---------------------------------------------------------------------------

PRIVATE_HOSTS = [
    "127.0.0.1",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    "[fc00::1]",
    "2130706433",
    "0x7f.1",
    "017700000001",
    "127.1",
]


def _without(*options: str) -> list[str]:
    args, skip = [], False
    for arg in BASE:
        if skip:
            skip = False
            continue
        if arg in options:
            skip = True
            continue
        args.append(arg)
    return args


HOSTILE: dict[str, tuple[list[str], str]] = {
    "missing name": (_without("--name"), "--name is required"),
    "empty name": (["--name", "", *_without("--name")], "--name"),
    "missing url": (_without("--url"), "--url is required"),
    "neither scope": (_without("--context"), "exactly one of --context ID and --organization ID"),
    "both scopes": ([*BASE, "--organization", "org_acme"], "not both"),
    "ftp url": (["--url", "ftp://93.184.216.34/hook", *_without("--url")], "not http or https"),
    "url without scheme": (["--url", "hooks.example.com/x", *_without("--url")], "not http"),
    "url without host": (["--url", "https:///hook", *_without("--url")], "has no host"),
    "url with user:password": (
        ["--url", "https://user:pw@93.184.216.34/", *_without("--url")],
        "holds credentials",
    ),
    **{
        f"private {host}": (["--url", f"http://{host}/hook", *_without("--url")], "--allow-private")
        for host in PRIVATE_HOSTS
    },
    **{
        f"header {name}": ([*BASE, "--header", header], fragment)
        for name, header, fragment in [
            ("name with space", "X Api Key: v", "not a valid token"),
            ("name ending in space", "X-Api : v", "not a valid token"),
            ("empty name", ": v", "not a valid token"),
            ("without colon", "Authorization Bearer x", "has no ':'"),
            ("value with CR", "X-Api: a\rb", "line break"),
            ("value with LF", "X-Api: a\nInjected: 1", "line break"),
            ("value with NUL", "X-Api: a\x00b", "NUL"),
            ("Content-Type", "Content-Type: text/plain", "--content-type"),
            ("Content-Length", "content-length: 1", "set by signin-webhooks"),
            ("Host", "Host: evil.example", "set by signin-webhooks"),
            ("Transfer-Encoding", "Transfer-Encoding: chunked", "set by signin-webhooks"),
            ("Connection", "Connection: close", "set by signin-webhooks"),
            ("User-Agent", "User-Agent: x", "set by signin-webhooks"),
            ("webhook-id", "webhook-id: x", "reserved for webhook signing"),
            ("Webhook-Signature", "Webhook-Signature: v1,x", "reserved for webhook signing"),
            ("webhook-timestamp", "WEBHOOK-TIMESTAMP: 1", "reserved for webhook signing"),
        ]
    },
    "header given twice": (
        [*BASE, "--header", "X-Api: 1", "--header", "x-api: 2"],
        "given twice",
    ),
    **{
        f"{option} {value!r}": ([*BASE, option, value], option)
        for option, values in [
            ("--event", ["signin.session.nope", "signin.nothing.*", "session.*", "", "dhcp"]),
            ("--max-events", ["abc", "0", "1000001", "-1", "1.5", "1e3", ""]),
            ("--max-bytes", ["abc", "65535", "67108865", "16MiB", "-1", ""]),
            ("--flush-interval", ["25h", "-1s", "abc", "1.5h", "24h1ms", "10", "1m1h", ""]),
            ("--retry-schedule", ["", "2m,,4m", "abc", "0", "25h", "2m;4m", ",", "1s," * 51]),
            ("--timeout", ["0", "abc", "2h", "-5s"]),
        ]
        for value in values
    },
    **{
        f"content type {value!r}": ([*BASE, "--content-type", value], "content type")
        for value in [
            "text/plain",
            "application/xml",
            "text/html",
            "*/*",
            "application/*",
            "application/json; charset=latin-1",
            "application/x-www-form-urlencoded",
            "json",
            "",
        ]
    },
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_to_create_is_refused_and_nothing_is_stored(case: str) -> None:
    create()
    before_log, before_list = audit(), listed()
    args, fragment = HOSTILE[case]
    assert fragment in refused("subscriptions", "create", *args)
    assert audit() == before_log
    assert listed() == before_list


UPDATE_HOSTILE = {
    "empty name": ["--name", ""],
    "both scopes": ["--context", "c", "--organization", "o"],
    "private url": ["--url", "http://[::ffff:127.0.0.1]/"],
    "url with credentials": ["--url", "https://a:b@93.184.216.34/"],
    "reserved header": ["--header", "Host: x"],
    "header value with LF": ["--header", "X-Api: a\nb"],
    "unknown event": ["--event", "signin.session.nope"],
    "max-events out of range": ["--max-events", "0"],
    "max-bytes not a number": ["--max-bytes", "lots"],
    "flush-interval 25h": ["--flush-interval", "25h"],
    "retry schedule": ["--retry-schedule", "2m,,4m"],
    "content type": ["--content-type", "text/plain"],
}


@pytest.mark.parametrize("case", UPDATE_HOSTILE)
def test_hostile_input_to_update_is_refused_and_nothing_is_stored(case: str) -> None:
    sub_id = create()["id"]
    before_log, before_list = audit(), listed()
    refused("subscriptions", "update", sub_id, *UPDATE_HOSTILE[case])
    assert audit() == before_log
    assert listed() == before_list


def test_the_refusal_of_a_private_address_says_how_to_allow_it() -> None:
    line = refused("subscriptions", "create", *_without("--url"), "--url", LOCAL_URL)
    assert line == (
        "endpoint host '127.0.0.1' is 127.0.0.1, a loopback address; to deliver inside your own "
        "network run `signin-webhooks settings set allow_private_networks true` "
        "or pass --allow-private-networks"
    )


# -- name resolution -------------------------------------------------------------------------


def test_a_name_that_does_not_resolve_is_saved_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_name(*args: object, **kw: object) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = ok(
        "subscriptions", "create", "--json", *_without("--url"), "--url", "https://later.example/h"
    )
    assert json.loads(result.stdout)["url"] == "https://later.example/h"
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"{PREFIX}warning: cannot resolve host 'later.example'")
    assert [s["url"] for s in ok_json("subscriptions", "list")] == ["https://later.example/h"]


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def internal(host: str, port: int, *args: object, **kw: object) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", internal)
    line = refused("subscriptions", "create", *_without("--url"), "--url", "https://intranet/h")
    assert line.startswith("endpoint host 'intranet' resolves to 10.9.8.7, a private address")
    assert audit() == ""


# -- private networks ------------------------------------------------------------------------


def test_the_flag_allows_private_networks_for_one_invocation_only() -> None:
    private = [*_without("--url"), "--url", LOCAL_URL]
    created = ok_json("--allow-private-networks", "subscriptions", "create", *private)
    assert created["url"] == LOCAL_URL
    refused("subscriptions", "create", *private)
    assert ok_json("settings", "show")["allow_private_networks"] is False
    assert [s["url"] for s in ok_json("subscriptions", "list")] == [LOCAL_URL]


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_the_environment_variable_allows_private_networks_for_one_process(value: str) -> None:
    private = [*_without("--url"), "--url", LOCAL_URL]
    ok("subscriptions", "create", *private, env={ENV_ALLOW_PRIVATE: value})
    refused("subscriptions", "create", *private)
    assert ok_json("settings", "show")["allow_private_networks"] is False


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_an_environment_variable_that_does_not_allow_defers_to_the_settings(value: str) -> None:
    private = [*_without("--url"), "--url", LOCAL_URL]
    refused("subscriptions", "create", *private, env={ENV_ALLOW_PRIVATE: value})
    ok("settings", "set", "allow_private_networks", "true")
    ok("subscriptions", "create", *private, env={ENV_ALLOW_PRIVATE: value})


def test_a_bad_environment_variable_is_one_clear_line() -> None:
    line = refused("subscriptions", "list", env={ENV_ALLOW_PRIVATE: "maybe"})
    assert ENV_ALLOW_PRIVATE in line


def test_private_networks_allowed_in_the_settings_last_across_invocations() -> None:
    assert ok("settings", "set", "allow_private_networks", "yes").stdout == (
        "allow_private_networks: true\n"
    )
    for _ in range(2):
        ok("subscriptions", "create", *_without("--url"), "--url", LOCAL_URL)


# -- settings --------------------------------------------------------------------------------


def test_settings_show_every_key_with_its_value_and_what_it_sets(db: Path) -> None:
    header, *rows = ok("settings", "show").stdout.splitlines()
    assert header.split() == ["KEY", "VALUE", "SETS"]
    assert [row.split()[:2] for row in rows] == [
        ["delivery_retention", "72h"],
        ["log_retention", "off"],
        ["allow_private_networks", "false"],
        ["require_https", "false"],
        ["auto_disable_after", "120h"],
        ["operations_url", "off"],
        ["delivery_pool_size", "16"],
        ["connections_per_host", "4"],
        ["worker_lease", "15s"],
        ["max_request_bytes", "67108864"],
        ["secrets_key", f"file:{db}.key"],
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
