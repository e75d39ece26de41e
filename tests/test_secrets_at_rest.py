"""Signing secrets and custom header values at rest: sealed in the log and the projections under
data keys that an installation key, kept outside the database, wraps; destroyed with their key
when the subscription is deleted or the secret's grace is over; a log written in plaintext
before stays readable."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.actors.signing import new_secret, verify
from signin_webhooks.eventstore import Projector
from signin_webhooks.eventstore.secrets import ENV_KEY, ENV_KEY_FILE, SecretsUnavailable
from signin_webhooks.eventstore.subscription_fields import validate_fields
from signin_webhooks.eventstore.subscriptions import (
    SecretRotated,
    SubscriptionCreated,
    Subscriptions,
    SubscriptionUpdated,
)
from tests.endpoint import Endpoint
from tests.helpers import PREFIX, header, invoke, one_error_line, subscribe

TOKEN = "Bearer tok-7f3c9e1d2b"


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "hooks.db"


def on_disk(db: Path) -> bytes:
    """Every byte of the database: the file, its WAL, and the key table's pages alike."""
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.suffix != ".key")


def cli(db: Path, *args: str, input: str | None = None):
    return invoke("--db", str(db), *args, input=input)


def test_secrets_and_header_values_never_reach_the_disk_in_plaintext(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(system, "https://93.184.216.34/hook", headers=[f"Authorization: {TOKEN}"])
        rotated = system.subscriptions.rotate_secret(saved.subscription.id)
        system.subscriptions.update(saved.subscription.id, headers=["X-Api-Key: k3y-91ab2"])
        shown = system.subscriptions.reveal(system.subscriptions.get(saved.subscription.id))
        replayed = b"".join(r.replayed() for r in system.replay(internal=True))

    data = on_disk(db)
    assert saved.secret is not None and rotated.secret is not None
    for plaintext in (saved.secret, rotated.secret, TOKEN, "k3y-91ab2"):
        assert plaintext.encode() not in data
        assert plaintext.encode() not in replayed
    assert [s.value for s in shown.secrets] == [rotated.secret, saved.secret]
    assert shown.fields.headers == {"X-Api-Key": "k3y-91ab2"}
    assert (db.parent / "hooks.db.key").exists()
    assert stat.S_IMODE((db.parent / "hooks.db.key").stat().st_mode) == 0o600


def test_a_delivery_is_signed_and_sent_with_the_opened_secret_and_headers(db, clock):
    with Endpoint() as endpoint, WebhookSystem(db, deliver=False, clock=clock,
                                               allow_private_networks=True) as system:  # fmt: skip
        saved = subscribe(system, endpoint, headers=[f"Authorization: {TOKEN}"])
        delivery, attempt = system.subscriptions.test(saved.subscription.id)
        (request,) = endpoint.requests

    assert attempt.status == 200
    assert header(request, "Authorization") == TOKEN
    timestamp = int(header(request, "webhook-timestamp"))
    signature = header(request, "webhook-signature")
    assert saved.secret is not None
    assert verify(saved.secret, delivery.id, timestamp, request.body, signature)
    assert attempt.request_headers["Authorization"] == "[redacted]"


def test_deleting_a_subscription_destroys_its_secrets_for_good(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(system, "https://93.184.216.34/hook", headers=[f"Authorization: {TOKEN}"])
        keep = subscribe(system, "https://93.184.216.34/other")
        sealed = system.subscriptions.get(saved.subscription.id)
        system.subscriptions.delete(saved.subscription.id)
        keyring = system.store.keyring

        for value in (sealed.secrets[0].value, sealed.fields.headers["Authorization"]):
            with pytest.raises(SecretsUnavailable, match="destroyed"):
                keyring.open(value, "it")
        shown = cli(db, "subscriptions", "list", "--all", "--reveal", "--json")
        assert shown.exit_code == 0, shown.stderr
        gone = next(s for s in json.loads(shown.stdout) if s["id"] == sealed.id)
        assert gone["secrets"] == [
            {"number": sealed.secrets[0].number, "secret": "[destroyed]", "expires_at": None}
        ]
        assert gone["headers"] == {"Authorization": "[destroyed]"}
        assert (
            system.subscriptions.reveal(system.subscriptions.get(keep.subscription.id))
            .secrets[0]
            .value
            == keep.secret
        )


def test_rotation_destroys_the_old_secret_once_its_grace_is_over(db, clock: ManualClock):
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(system, "https://93.184.216.34/hook")
        sub_id = saved.subscription.id
        system.subscriptions.rotate_secret(sub_id, grace="1h")
        old = system.subscriptions.get(sub_id).secrets[1].value
        assert system.store.keyring.open(old, "it") == saved.secret  # in its grace: it signs

        clock.advance(hours=1, seconds=1)
        system.retention()  # the running system's retention tick, on demand
        with pytest.raises(SecretsUnavailable, match="destroyed"):
            system.store.keyring.open(old, "it")

        previous = system.subscriptions.get(sub_id).secrets[0].value
        system.subscriptions.rotate_secret(sub_id, grace="0s")  # a leaked secret: gone at once
        with pytest.raises(SecretsUnavailable, match="destroyed"):
            system.store.keyring.open(previous, "it")
        assert (
            len(system.subscriptions.get(sub_id).opened(system.store.keyring, clock.now).secrets)
            == 1
        )


def test_a_database_without_its_key_still_reads_and_says_what_is_missing(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as system:
        saved = subscribe(system, "https://93.184.216.34/hook")
    key = db.parent / "hooks.db.key"
    key.rename(db.parent / "elsewhere.key")
    sub_id = saved.subscription.id

    assert cli(db, "subscriptions", "list").exit_code == 0
    assert cli(db, "subscriptions", "show", sub_id).exit_code == 0
    assert cli(db, "replay", "--all").exit_code == 0
    for args in (("subscriptions", "show", sub_id, "--reveal"), ("subscriptions", "test", sub_id),
                 ("run",), ("subscriptions", "rotate-secret", sub_id)):  # fmt: skip
        result = cli(db, *args)
        assert result.exit_code == 1, (args, result.stderr)
        assert one_error_line(result.stderr) == (
            f"secrets cannot be read: the installation key is missing (key file {key} is not"
            f" there, and ${ENV_KEY} is not set); restore the key file from its backup or set"
            f" ${ENV_KEY}"
        )
    assert not key.exists()  # never made anew over secrets sealed under the lost one


def test_the_key_may_come_from_the_environment_and_a_wrong_key_is_named(db, monkeypatch):
    from signin_webhooks.eventstore.secrets import new_key_text

    monkeypatch.setenv(ENV_KEY, new_key_text())
    created = cli(db, "subscriptions", "create", "--name", "a", "--url", "https://93.184.216.34/",
                  "--context", "c", "--json")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    assert not (db.parent / "hooks.db.key").exists()
    shown = cli(db, "settings", "show", "--json")
    assert json.loads(shown.stdout)["secrets_key"] == f"environment:{ENV_KEY}"

    monkeypatch.setenv(ENV_KEY, new_key_text())
    sub_id = json.loads(created.stdout)["id"]
    result = cli(db, "subscriptions", "show", sub_id, "--reveal")
    assert result.exit_code == 1
    assert "is not the one it was sealed with" in one_error_line(result.stderr)

    monkeypatch.setenv(ENV_KEY, "too-short")
    result = cli(db, "subscriptions", "show", sub_id, "--reveal")
    assert one_error_line(result.stderr).startswith(f"${ENV_KEY} must hold 32 bytes in base64")


def test_a_log_written_in_plaintext_before_stays_readable_and_delivers(db, clock):
    secret, fields = new_secret(), validate_fields({
        "name": "old", "url": "http://127.0.0.1:1/", "scope": "context", "scope_id": "ctx_lobby",
        "headers": [f"Authorization: {TOKEN}"],
    })  # fmt: skip
    rotated = new_secret()
    with Endpoint() as endpoint, WebhookSystem(db, deliver=False, clock=clock,
                                               allow_private_networks=True) as system:  # fmt: skip
        old_fields = validate_fields({"url": endpoint.url_for("/hook")}, base=fields)
        system.store.log.append_internal([
            SubscriptionCreated(v=1, subscription_id="sub_old", fields=fields, enabled=True,
                                secret=secret),
            SubscriptionUpdated(v=1, subscription_id="sub_old", fields=old_fields),
            SecretRotated(v=1, subscription_id="sub_old", secret=rotated,
                          previous_expires_at="2027-01-01T00:00:00.000000Z"),
        ])  # fmt: skip
        live = system.subscriptions.get("sub_old")
        delivery, _ = system.subscriptions.test("sub_old")
        (request,) = endpoint.requests
        conn = system.store.db.conn
        Projector(system.store.log).rebuild(Subscriptions())
        assert Subscriptions.get(conn, "sub_old") == live

    assert [s.value for s in live.secrets] == [rotated, secret]
    assert header(request, "Authorization") == TOKEN
    timestamp, signature = (
        int(header(request, "webhook-timestamp")),
        header(request, "webhook-signature"),
    )
    assert verify(secret, delivery.id, timestamp, request.body, signature)
    assert verify(rotated, delivery.id, timestamp, request.body, signature)


def test_a_rebuild_after_compaction_equals_the_live_projection_and_resurrects_nothing(db, clock):
    with WebhookSystem(db, deliver=False, clock=clock, allow_private_networks=True) as system:
        gone = subscribe(system, "https://93.184.216.34/hook", headers=[f"Authorization: {TOKEN}"])
        kept = subscribe(system, "https://93.184.216.34/kept")
        system.publish({"type": "signin.session.created", "organization_id": "o",
                        "context_id": "elsewhere", "session_id": "s"})  # fmt: skip
        system.subscriptions.delete(gone.subscription.id)
        system.settings.set("log_retention", "1h")
        clock.advance(hours=2)
        assert system.retention().compacted_events == 1
        conn = system.store.db.conn
        live = Subscriptions.all(conn, deleted=True)
        Projector(system.store.log).rebuild(Subscriptions())
        assert Subscriptions.all(conn, deleted=True) == live
        rebuilt = Subscriptions.get(conn, gone.subscription.id)
        assert rebuilt is not None
        with pytest.raises(SecretsUnavailable, match="destroyed"):
            system.store.keyring.open(rebuilt.secrets[0].value, "it")
        still = Subscriptions.get(conn, kept.subscription.id)
        assert still is not None
        opened = still.opened(system.store.keyring, clock.now)
        assert opened.secrets[0].value == kept.secret
    assert gone.secret is not None
    assert gone.secret.encode() not in on_disk(db) and TOKEN.encode() not in on_disk(db)


def test_header_values_come_from_a_file_or_stdin(db, tmp_path):
    headers = tmp_path / "headers.txt"
    headers.write_text(f"Authorization: {TOKEN}\n\nX-Tenant: acme\n")
    base = ("subscriptions", "create", "--name", "a", "--url", "https://93.184.216.34/",
            "--context", "c", "--json")  # fmt: skip

    from_file = cli(db, *base, "--header-file", str(headers))
    from_stdin = cli(db, *base, "--header", "X-One: 1", "--header-file", "-", input="X-Two: 2\n")

    assert from_file.exit_code == 0 and from_stdin.exit_code == 0, (
        from_file.stderr + from_stdin.stderr
    )
    for result, expected in ((from_file, {"Authorization": TOKEN, "X-Tenant": "acme"}),
                             (from_stdin, {"X-One": "1", "X-Two": "2"})):  # fmt: skip
        sub_id = json.loads(result.stdout)["id"]
        shown = cli(db, "subscriptions", "show", sub_id, "--reveal", "--json")
        assert json.loads(shown.stdout)["headers"] == expected


def test_a_database_or_key_file_open_to_others_is_warned_about(db):
    cli(db, "subscriptions", "create", "--name", "a", "--url", "https://93.184.216.34/",
        "--context", "c")  # fmt: skip
    assert "warning" not in cli(db, "status").stderr
    os.chmod(db, 0o644)
    os.chmod(f"{db}.key", 0o640)

    result = cli(db, "status")

    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{PREFIX}warning: database '{db}' can be read by its group or others (mode 0644);"
        f" restrict it: chmod 600 '{db}'",
        f"{PREFIX}warning: key file '{db}.key' can be read by its group or others (mode 0640);"
        f" restrict it: chmod 600 '{db}.key'",
    ]


def test_a_copied_log_takes_its_data_keys_along_under_the_same_installation_key(
    db, tmp_path, monkeypatch
):
    with WebhookSystem(db, deliver=False) as system:
        saved = subscribe(system, "https://93.184.216.34/hook", headers=[f"Authorization: {TOKEN}"])
    copy = tmp_path / "copy.db"

    assert invoke("copy", "--from", str(db), "--to", str(copy)).exit_code == 0
    monkeypatch.setenv(ENV_KEY_FILE, f"{db}.key")  # the key the source was sealed under
    shown = cli(copy, "subscriptions", "show", saved.subscription.id, "--reveal", "--json")

    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["headers"] == {"Authorization": TOKEN}
    assert json.loads(shown.stdout)["secrets"][0]["secret"] == saved.secret
