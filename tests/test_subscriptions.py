"""Subscriptions and installation settings through the Python API, on real database files.

DNS is a fake resolver the test fills in, so what a host name "resolves to" is up to the test.
"""

from __future__ import annotations

import base64
import ipaddress
import random
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.subscription_manager import Saved
from signin_webhooks.eventstore import InvalidInput, NotFound
from signin_webhooks.eventstore.subscriptions import Subscription, Subscriptions
from tests.helpers import FakeDns

PUBLIC = "93.184.216.34"
HOST = "hooks.example.com"
URL = f"https://{HOST}/signin"
Opener = Callable[..., WebhookSystem]


@pytest.fixture(autouse=True)
def no_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)


@pytest.fixture
def dns() -> FakeDns:
    """A resolver answering from a table the test can fill in; other names do not resolve."""
    return FakeDns({HOST: [PUBLIC], "other.example.com": [PUBLIC]})


@pytest.fixture
def open_system(db: Path, dns: FakeDns, clock: ManualClock) -> Iterator[Opener]:
    """Start a system on the test's database; each call is a restart."""
    started: list[WebhookSystem] = []

    def start(**kw: Any) -> WebhookSystem:
        for system in started:
            system.stop()
        system = WebhookSystem(db, deliver=False, clock=clock, resolver=dns, **kw).start()
        started.append(system)
        return system

    yield start
    for system in started:
        system.stop()


@pytest.fixture
def system(open_system: Opener) -> WebhookSystem:
    return open_system()


def create(system: WebhookSystem, **fields: Any) -> Saved:
    values: dict[str, Any] = {"name": "CRM", "url": URL, "context": "ctx_lobby", **fields}
    return system.subscriptions.create(**values)


def reveal(system: WebhookSystem, subscription_id: str) -> Subscription:
    """The subscription with its secrets and header values opened, as `show --reveal` has it."""
    return system.subscriptions.reveal(system.subscriptions.get(subscription_id))


def log_length(system: WebhookSystem) -> int:
    return len(list(system.replay(internal=True)))


def last_internal_sequence(system: WebhookSystem) -> int:
    return [r.sequence for r in system.replay(internal=True) if r.internal][-1]


def session_event(n: int) -> dict[str, Any]:
    return {
        "type": "signin.session.created",
        "organization_id": "org_acme",
        "context_id": "ctx_lobby",
        "session_id": f"ses_{n}",
    }


# -- create and read ---------------------------------------------------------------------------


def test_a_new_subscription_has_the_documented_defaults(system: WebhookSystem) -> None:
    saved = create(system)
    f = saved.subscription.fields
    assert (f.scope, f.scope_id, f.url) == ("context", "ctx_lobby", URL)
    assert f.events == ("*",)
    assert (f.max_events, f.max_bytes, f.flush_interval) == (20_000, 16 * 1024 * 1024, 1200.0)
    assert f.retry_schedule == (120.0, 240.0, 480.0, 960.0, 1920.0)
    assert (f.timeout, f.content_type, f.headers) == (30.0, "application/json", {})
    assert saved.subscription.enabled and not saved.subscription.deleted
    assert saved.warnings == []


def test_the_secret_is_returned_at_create_and_is_24_random_bytes_or_more(
    system: WebhookSystem,
) -> None:
    first, second = create(system), create(system)
    assert first.secret is not None and first.secret.startswith("whsec_")
    assert len(base64.b64decode(first.secret.removeprefix("whsec_"), validate=True)) >= 24
    assert first.secret != second.secret
    assert reveal(system, first.subscription.id).secrets[0].value == first.secret


def test_an_organization_subscription_keeps_its_scope(system: WebhookSystem) -> None:
    saved = system.subscriptions.create(name="SIEM", url=URL, organization="org_acme")
    assert (saved.subscription.fields.scope, saved.subscription.fields.scope_id) == (
        "organization",
        "org_acme",
    )


def test_a_fresh_database_has_no_subscriptions_and_default_settings(
    system: WebhookSystem,
) -> None:
    assert system.subscriptions.list() == []
    assert system.subscriptions.list(include_deleted=True) == []
    assert system.settings.show().shown() == {
        "delivery_retention": "72h",
        "log_retention": "off",
        "allow_private_networks": "false",
        "require_https": "false",
        "auto_disable_after": "120h",
        "operations_url": "off",
        "delivery_pool_size": "16",
        "connections_per_host": "4",
        "worker_lease": "15s",
        "max_request_bytes": "67108864",
    }


def test_every_change_survives_a_restart(open_system: Opener, clock: ManualClock) -> None:
    system = open_system()
    created = create(system, headers={"Authorization": "Bearer t0k"})
    sub_id = created.subscription.id
    system = open_system()
    assert reveal(system, sub_id).fields.headers == {"Authorization": "Bearer t0k"}

    system.subscriptions.update(sub_id, name="CRM (EU)", flush_interval="30s")
    system = open_system()
    assert system.subscriptions.get(sub_id).fields.name == "CRM (EU)"
    assert system.subscriptions.get(sub_id).fields.flush_interval == 30.0

    system.subscriptions.disable(sub_id, reason="maintenance")
    system = open_system()
    assert not system.subscriptions.get(sub_id).enabled
    assert system.subscriptions.get(sub_id).disabled_reason == "maintenance"

    system.subscriptions.enable(sub_id, from_now=True)
    system = open_system()
    assert system.subscriptions.get(sub_id).enabled
    assert system.subscriptions.get(sub_id).disabled_reason == ""

    rotated = system.subscriptions.rotate_secret(sub_id, grace="1h")
    system = open_system()
    assert reveal(system, sub_id).valid_secrets(clock.now) == [
        rotated.secret,
        created.secret,
    ]

    system.settings.set("delivery_pool_size", "32")
    system = open_system()
    assert system.settings.show().delivery_pool_size == 32

    system.subscriptions.delete(sub_id)
    system = open_system()
    assert system.subscriptions.list() == []
    assert system.subscriptions.get(sub_id, deleted_ok=True).deleted


def test_list_leaves_out_deleted_subscriptions_unless_asked(system: WebhookSystem) -> None:
    kept, gone = create(system, name="kept"), create(system, name="gone")
    system.subscriptions.delete(gone.subscription.id)
    assert [s.id for s in system.subscriptions.list()] == [kept.subscription.id]
    every = {s.id: s.deleted for s in system.subscriptions.list(include_deleted=True)}
    assert every == {kept.subscription.id: False, gone.subscription.id: True}


OPERATIONS = {
    "get": lambda s, i: s.subscriptions.get(i),
    "update": lambda s, i: s.subscriptions.update(i, name="x"),
    "enable": lambda s, i: s.subscriptions.enable(i),
    "enable --from-now": lambda s, i: s.subscriptions.enable(i, from_now=True),
    "disable": lambda s, i: s.subscriptions.disable(i),
    "delete": lambda s, i: s.subscriptions.delete(i),
    "rotate-secret": lambda s, i: s.subscriptions.rotate_secret(i),
}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_an_unknown_id_is_refused_and_nothing_is_stored(
    system: WebhookSystem, operation: str
) -> None:
    before = log_length(system)
    with pytest.raises(NotFound, match="no subscription 'sub_nope'"):
        OPERATIONS[operation](system, "sub_nope")
    assert log_length(system) == before


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_deleted_subscription_is_refused_and_nothing_is_stored(
    system: WebhookSystem, operation: str
) -> None:
    sub_id = create(system).subscription.id
    system.subscriptions.delete(sub_id)
    before = log_length(system)
    with pytest.raises(NotFound, match="was deleted"):
        OPERATIONS[operation](system, sub_id)
    assert log_length(system) == before


# -- update ------------------------------------------------------------------------------------


def test_update_changes_only_the_given_fields(system: WebhookSystem) -> None:
    saved = create(system, events=["signin.dhcp.*"], max_events=500)
    updated = system.subscriptions.update(saved.subscription.id, flush_interval="1m")
    assert updated.subscription.fields.flush_interval == 60.0
    assert updated.subscription.fields.events == ("signin.dhcp.*",)
    assert updated.subscription.fields.max_events == 500
    assert updated.secret is None


def test_an_update_that_changes_nothing_records_nothing(system: WebhookSystem) -> None:
    sub_id = create(system, name="CRM").subscription.id
    before = log_length(system)
    system.subscriptions.update(sub_id, name="CRM", max_events=20_000)
    assert log_length(system) == before


def test_update_can_move_a_subscription_to_the_other_scope(system: WebhookSystem) -> None:
    sub_id = create(system).subscription.id
    fields = system.subscriptions.update(sub_id, organization="org_acme").subscription.fields
    assert (fields.scope, fields.scope_id) == ("organization", "org_acme")


def test_update_refuses_both_scopes_and_stores_nothing(system: WebhookSystem) -> None:
    sub_id = create(system).subscription.id
    before = log_length(system)
    with pytest.raises(InvalidInput, match="not both"):
        system.subscriptions.update(sub_id, context="c", organization="o")
    assert log_length(system) == before


# -- secrets -------------------------------------------------------------------------------------


def test_rotation_keeps_the_old_secret_valid_for_its_grace(
    system: WebhookSystem, clock: ManualClock
) -> None:
    saved = create(system)
    rotated = system.subscriptions.rotate_secret(saved.subscription.id, grace="1h")
    assert rotated.secret not in (None, saved.secret)
    sub = reveal(system, saved.subscription.id)
    rotated_at = clock.now
    assert sub.valid_secrets(rotated_at) == [rotated.secret, saved.secret]
    assert sub.valid_secrets(clock.advance(minutes=59, seconds=59)) == [
        rotated.secret,
        saved.secret,
    ]
    assert sub.valid_secrets(clock.advance(seconds=2)) == [rotated.secret]


def test_rotation_grace_defaults_to_24_hours(system: WebhookSystem, clock: ManualClock) -> None:
    saved = create(system)
    rotated = system.subscriptions.rotate_secret(saved.subscription.id)
    sub = reveal(system, saved.subscription.id)
    assert sub.valid_secrets(clock.advance(hours=23, minutes=59)) == [rotated.secret, saved.secret]
    assert sub.valid_secrets(clock.advance(minutes=2)) == [rotated.secret]


@pytest.mark.parametrize("grace", ["abc", "-1s", "1.5h", "721h"])
def test_rotation_refuses_a_bad_grace_and_stores_nothing(system: WebhookSystem, grace: str) -> None:
    saved = create(system)
    before = log_length(system)
    with pytest.raises(InvalidInput, match=r"^grace") as refused:
        system.subscriptions.rotate_secret(saved.subscription.id, grace=grace)
    assert refused.value.fields == ("grace",)
    assert log_length(system) == before
    assert reveal(system, saved.subscription.id).secrets[0].value == saved.secret


def test_secrets_and_header_values_are_redacted_in_the_audit_log(system: WebhookSystem) -> None:
    saved = create(system, headers={"Authorization": "Bearer t0k3n"})
    rotated = system.subscriptions.rotate_secret(saved.subscription.id)
    system.subscriptions.update(saved.subscription.id, headers=["X-Api-Key: k3y"])
    audit = b"\n".join(r.replayed() for r in system.replay(internal=True))
    for secret in (saved.secret, rotated.secret, "t0k3n", "k3y"):
        assert secret is not None and secret.encode() not in audit
    assert b"[redacted]" in audit


# -- enable and disable --------------------------------------------------------------------------


def test_a_new_subscription_starts_after_its_creation(system: WebhookSystem) -> None:
    system.publish([session_event(1), session_event(2)])
    saved = create(system)
    assert saved.subscription.start_after == last_internal_sequence(system)


def test_plain_enable_resumes_where_it_stopped(system: WebhookSystem) -> None:
    sub_id = create(system).subscription.id
    start_after = system.subscriptions.get(sub_id).start_after
    system.subscriptions.disable(sub_id)
    system.publish([session_event(1), session_event(2)])
    enabled = system.subscriptions.enable(sub_id)
    assert enabled.enabled
    assert enabled.start_after == start_after


def test_enable_from_now_skips_what_was_published_while_disabled(system: WebhookSystem) -> None:
    sub_id = create(system).subscription.id
    system.subscriptions.disable(sub_id)
    published = system.publish([session_event(1), session_event(2)])
    enabled = system.subscriptions.enable(sub_id, from_now=True)
    assert enabled.enabled
    assert enabled.start_after == last_internal_sequence(system)
    assert enabled.start_after > (published.last_sequence or 0)


def test_a_subscription_created_disabled_waits_for_enable(system: WebhookSystem) -> None:
    saved = create(system, enabled=False)
    assert not saved.subscription.enabled
    assert system.subscriptions.enable(saved.subscription.id).enabled


# -- the projection ---------------------------------------------------------------------------


CHANGES = ["create", "update", "enable", "disable", "rotate", "delete", "publish"]


def test_rebuilding_the_projection_gives_exactly_the_live_state(system: WebhookSystem) -> None:
    rng = random.Random(3)
    ids: list[str] = []
    for step in range(300):
        live = [i for i in ids if not system.subscriptions.get(i, deleted_ok=True).deleted]
        choice = rng.choice(CHANGES)
        if choice == "create" or not live:
            organization, context = ("org_acme", None) if step % 3 else (None, f"ctx_{step}")
            saved = system.subscriptions.create(
                name=f"sub {step}", url=URL, organization=organization, context=context
            )
            ids.append(saved.subscription.id)
        elif choice == "update":
            system.subscriptions.update(
                rng.choice(live), name=f"renamed {step}", max_events=rng.randint(1, 1000)
            )
        elif choice == "enable":
            system.subscriptions.enable(rng.choice(live), from_now=rng.random() < 0.5)
        elif choice == "disable":
            system.subscriptions.disable(rng.choice(live), reason=f"step {step}")
        elif choice == "rotate":
            system.subscriptions.rotate_secret(rng.choice(live), grace=f"{step}s")
        elif choice == "delete":
            system.subscriptions.delete(rng.choice(live))
        else:
            system.publish([session_event(step)])
    store = system.store
    rows = "SELECT id, deleted, state FROM subscriptions ORDER BY id"
    live_rows = store.project(Subscriptions()).execute(rows).fetchall()
    assert len(live_rows) == len(ids)

    store.projector.page = 7  # many small pages: a subscription changes across page boundaries
    store.projector.rebuild(Subscriptions())
    assert store.db.conn.execute(rows).fetchall() == live_rows


# -- what is accepted ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "saved"),
    [
        (None, ("*",)),
        (["*"], ("*",)),
        (["signin.session.*"], ("signin.session.*",)),
        ("signin.dhcp.granted", ("signin.dhcp.granted",)),
        (["signin.dhcp.granted", "signin.dhcp.granted"], ("signin.dhcp.granted",)),
        (["signin.*", "signin.configuration.audit"], ("signin.*", "signin.configuration.audit")),
    ],
)
def test_events_are_catalogue_types_or_patterns(
    system: WebhookSystem, events: Any, saved: tuple[str, ...]
) -> None:
    assert create(system, events=events).subscription.fields.events == saved


@pytest.mark.parametrize(
    ("fields", "attribute", "value"),
    [
        ({"max_events": 1}, "max_events", 1),
        ({"max_events": "1000000"}, "max_events", 1_000_000),
        ({"max_bytes": 65536}, "max_bytes", 65536),
        ({"max_bytes": "67108864"}, "max_bytes", 67108864),
        ({"flush_interval": "0"}, "flush_interval", 0.0),
        ({"flush_interval": "500ms"}, "flush_interval", 0.5),
        ({"flush_interval": "1h30m"}, "flush_interval", 5400.0),
        ({"flush_interval": "24h"}, "flush_interval", 86400.0),
        ({"flush_interval": 45}, "flush_interval", 45.0),
        ({"retry_schedule": "30s,1m,1h"}, "retry_schedule", (30.0, 60.0, 3600.0)),
        ({"retry_schedule": [10, 20]}, "retry_schedule", (10.0, 20.0)),
        ({"timeout": "5s"}, "timeout", 5.0),
        ({"content_type": "application/x-ndjson"}, "content_type", "application/x-ndjson"),
        ({"content_type": "application/cloudevents-batch+json"}, "content_type", None),
        ({"content_type": "text/json; charset=utf-8"}, "content_type", None),
        ({"headers": {"Authorization": "Bearer x"}}, "headers", {"Authorization": "Bearer x"}),
        ({"headers": ["X-Tenant:  acme "]}, "headers", {"X-Tenant": "acme"}),
    ],
)
def test_valid_settings_are_saved(
    system: WebhookSystem, fields: dict[str, Any], attribute: str, value: Any
) -> None:
    saved = getattr(reveal(system, create(system, **fields).subscription.id).fields, attribute)
    assert saved == (fields[attribute] if value is None else value)


# -- what is refused -------------------------------------------------------------------------


HOSTILE: dict[str, dict[str, Any]] = {
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "name not text": {"name": 5},
    "empty url": {"url": ""},
    "ftp url": {"url": "ftp://hooks.example.com/"},
    "url without scheme": {"url": "hooks.example.com/hook"},
    "url without host": {"url": "https:///hook"},
    "url with user and password": {"url": "https://user:password@hooks.example.com/"},
    "url with user": {"url": "https://user@hooks.example.com/"},
    "url with space": {"url": "https://hooks.example.com/a b"},
    "empty context": {"context": ""},
    "header name with space": {"headers": {"X Api Key": "v"}},
    "header name with colon": {"headers": {"X:Api": "v"}},
    "header without colon": {"headers": ["Authorization Bearer x"]},
    "header value with CR": {"headers": {"X-Api": "a\rb"}},
    "header value with LF": {"headers": {"X-Api": "a\nInjected: 1"}},
    "header value with NUL": {"headers": {"X-Api": "a\x00b"}},
    "header given twice": {"headers": ["X-Api: 1", "x-api: 2"]},
    "reserved Content-Type": {"headers": {"Content-Type": "text/plain"}},
    "reserved Host": {"headers": {"Host": "evil.example"}},
    "reserved User-Agent": {"headers": {"User-Agent": "x"}},
    "reserved webhook-id": {"headers": {"webhook-id": "x"}},
    "reserved Webhook-Signature": {"headers": {"Webhook-Signature": "v1,x"}},
    "unknown event": {"events": ["signin.session.nope"]},
    "pattern matching nothing": {"events": ["signin.nothing.*"]},
    "no events": {"events": []},
    "max_events not a number": {"max_events": "many"},
    "max_events zero": {"max_events": 0},
    "max_events too many": {"max_events": 1_000_001},
    "max_events a bool": {"max_events": True},
    "max_bytes too small": {"max_bytes": 65535},
    "max_bytes too large": {"max_bytes": 64 * 1024 * 1024 + 1},
    "max_bytes with a unit": {"max_bytes": "16MiB"},
    "flush_interval 25h": {"flush_interval": "25h"},
    "flush_interval negative": {"flush_interval": -1},
    "flush_interval abc": {"flush_interval": "abc"},
    "flush_interval fraction": {"flush_interval": "1.5h"},
    "retry_schedule empty": {"retry_schedule": ""},
    "retry_schedule zero": {"retry_schedule": "0"},
    "retry_schedule bad item": {"retry_schedule": "2m,soon"},
    "timeout zero": {"timeout": "0"},
    "timeout too long": {"timeout": "2h"},
    "content type xml": {"content_type": "application/xml"},
    "content type text": {"content_type": "text/plain"},
    "content type latin-1": {"content_type": "application/json; charset=latin-1"},
    "unknown field": {"colour": "blue"},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_refused_and_nothing_is_stored(system: WebhookSystem, case: str) -> None:
    existing = create(system).subscription
    before = log_length(system)
    with pytest.raises(InvalidInput):
        create(system, **HOSTILE[case])
    with pytest.raises(InvalidInput):
        system.subscriptions.update(existing.id, **HOSTILE[case])
    assert log_length(system) == before
    assert system.subscriptions.list() == [existing]


def test_a_subscription_needs_exactly_one_scope(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput, match="exactly one of context ID and organization ID"):
        system.subscriptions.create(name="x", url=URL)
    with pytest.raises(InvalidInput, match="not both"):
        system.subscriptions.create(name="x", url=URL, context="c", organization="o")
    assert log_length(system) == 0


def test_a_fractional_max_events_is_refused(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput):
        create(system, max_events=5.5)


def test_an_infinite_flush_interval_is_refused_as_bad_input(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput):
        create(system, flush_interval=float("inf"))


# -- endpoint addresses ------------------------------------------------------------------------

PRIVATE_SPELLINGS = {
    "127.0.0.1": "127.0.0.1",
    "10.0.0.1": "10.0.0.1",
    "192.168.1.1": "192.168.1.1",
    "172.16.0.1": "172.16.0.1",
    "169.254.169.254": "169.254.169.254",
    "100.64.0.1": "100.64.0.1",
    "0.0.0.0": "0.0.0.0",
    "224.0.0.1": "224.0.0.1",
    "[::1]": "::1",
    "[::ffff:127.0.0.1]": "::ffff:127.0.0.1",
    "[fe80::1]": "fe80::1",
    "[fc00::1]": "fc00::1",
    "2130706433": "127.0.0.1",
    "0x7f.1": "127.0.0.1",
    "017700000001": "127.0.0.1",
    "127.1": "127.0.0.1",
}


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_a_non_public_address_is_refused_in_every_spelling(
    system: WebhookSystem, host: str
) -> None:
    with pytest.raises(InvalidInput, match="settings set allow_private_networks true") as e:
        create(system, url=f"http://{host}:8080/hook")
    assert "--allow-private-networks" in str(e.value)
    assert log_length(system) == 0


@pytest.mark.parametrize("address", sorted(set(PRIVATE_SPELLINGS.values())))
def test_a_name_resolving_to_a_non_public_address_is_refused(
    system: WebhookSystem, dns: FakeDns, address: str
) -> None:
    dns.answers["internal.example.com"] = [PUBLIC, address]
    shown = re.escape(f"resolves to {ipaddress.ip_address(address)},")
    with pytest.raises(InvalidInput, match=f"'internal.example.com' {shown}"):
        create(system, url="https://internal.example.com/hook")
    assert log_length(system) == 0


def test_updating_to_a_non_public_address_is_refused(system: WebhookSystem, dns: FakeDns) -> None:
    saved = create(system)
    dns.answers["internal.example.com"] = ["10.1.2.3"]
    before = log_length(system)
    for url in ("https://10.1.2.3/hook", "https://internal.example.com/hook"):
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            system.subscriptions.update(saved.subscription.id, url=url)
    assert log_length(system) == before
    assert system.subscriptions.get(saved.subscription.id).fields.url == URL


def test_an_operations_url_passes_the_same_address_checks_as_the_url(
    system: WebhookSystem, dns: FakeDns
) -> None:
    dns.answers["internal.example.com"] = ["10.1.2.3"]
    saved = create(system)
    before = log_length(system)
    for url in ("https://10.1.2.3/ops", "https://internal.example.com/ops"):
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            create(system, operations_url=url)
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            system.subscriptions.update(saved.subscription.id, operations_url=url)
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            system.settings.set("operations_url", url)
    assert log_length(system) == before
    system.settings.set("require_https", "true")
    plain = "http://ops.example.com/ops"
    refused = re.escape(f"operations_url {plain!r} is plain http")
    with pytest.raises(InvalidInput, match=refused):
        create(system, operations_url=plain)
    with pytest.raises(InvalidInput, match=refused):
        system.settings.set("operations_url", plain)
    assert system.settings.set("operations_url", "off").operations_url is None


@pytest.mark.parametrize("answer", ["unresolvable", "empty"])
def test_a_name_that_does_not_resolve_is_saved_with_a_warning(
    system: WebhookSystem, dns: FakeDns, answer: str
) -> None:
    if answer == "empty":
        dns.answers["later.example.com"] = []
    saved = create(system, url="https://later.example.com/hook")
    assert (
        system.subscriptions.get(saved.subscription.id).fields.url
        == "https://later.example.com/hook"
    )
    [warning] = saved.warnings
    assert "cannot resolve host 'later.example.com'" in warning
    assert "saved anyway" in warning


def test_private_networks_allowed_in_the_settings_accept_private_endpoints(
    open_system: Opener,
) -> None:
    system = open_system()
    system.settings.set("allow_private_networks", "true")
    system = open_system()
    saved = create(system, url="http://127.0.0.1:8080/hook")
    assert saved.subscription.fields.url == "http://127.0.0.1:8080/hook"
    assert saved.warnings == []


def test_allowing_private_networks_for_one_process_does_not_change_the_settings(
    open_system: Opener,
) -> None:
    create(open_system(allow_private_networks=True), url="http://10.0.0.1/hook")
    system = open_system()
    assert system.settings.show().allow_private_networks is False
    with pytest.raises(InvalidInput, match="private address"):
        create(system, url="http://10.0.0.1/hook")
    assert [s.fields.url for s in system.subscriptions.list()] == ["http://10.0.0.1/hook"]


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE"])
def test_the_environment_variable_allows_private_networks_for_one_process(
    open_system: Opener, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, value)
    create(open_system(), url="http://192.168.1.1/hook")
    monkeypatch.delenv(ENV_ALLOW_PRIVATE)
    with pytest.raises(InvalidInput):
        create(open_system(), url="http://192.168.1.1/hook")


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_an_environment_variable_that_does_not_allow_leaves_it_to_the_settings(
    open_system: Opener, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, value)
    with pytest.raises(InvalidInput):
        create(open_system(), url="http://192.168.1.1/hook")
    open_system().settings.set("allow_private_networks", "yes")
    assert create(open_system(), url="http://192.168.1.1/hook").warnings == []


def test_a_bad_environment_variable_is_refused(monkeypatch: pytest.MonkeyPatch, db: Path) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, "maybe")
    with pytest.raises(InvalidInput, match=ENV_ALLOW_PRIVATE):
        WebhookSystem(db, deliver=False)


# -- settings ----------------------------------------------------------------------------------


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
