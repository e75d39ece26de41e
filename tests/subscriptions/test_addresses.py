"""Endpoint addresses: non-public addresses refused in every spelling and by resolution, and
private networks allowed."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.eventstore import InvalidInput
from tests.helpers import FakeDns, subscribe
from tests.subscriptions import PUBLIC, URL, Opener, log_length

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
    with pytest.raises(InvalidInput, match=r"settings\.set\('allow_private_networks'") as e:
        subscribe(system, f"http://{host}:8080/hook")
    assert "or pass allow_private_networks" in str(e.value)
    assert log_length(system) == 0


@pytest.mark.parametrize("address", sorted(set(PRIVATE_SPELLINGS.values())))
def test_a_name_resolving_to_a_non_public_address_is_refused(
    system: WebhookSystem, dns: FakeDns, address: str
) -> None:
    dns.answers["internal.example.com"] = [PUBLIC, address]
    shown = re.escape(f"resolves to {ipaddress.ip_address(address)},")
    with pytest.raises(InvalidInput, match=f"'internal.example.com' {shown}"):
        subscribe(system, "https://internal.example.com/hook")
    assert log_length(system) == 0


def test_updating_to_a_non_public_address_is_refused(system: WebhookSystem, dns: FakeDns) -> None:
    saved = subscribe(system, URL)
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
    saved = subscribe(system, URL)
    before = log_length(system)
    for url in ("https://10.1.2.3/ops", "https://internal.example.com/ops"):
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            subscribe(system, URL, operations_url=url)
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            system.subscriptions.update(saved.subscription.id, operations_url=url)
        with pytest.raises(InvalidInput, match="allow_private_networks"):
            system.settings.set("operations_url", url)
    assert log_length(system) == before
    system.settings.set("require_https", "true")
    plain = "http://ops.example.com/ops"
    refused = re.escape(f"operations_url {plain!r} is plain http")
    with pytest.raises(InvalidInput, match=refused):
        subscribe(system, URL, operations_url=plain)
    with pytest.raises(InvalidInput, match=refused):
        system.settings.set("operations_url", plain)
    assert system.settings.set("operations_url", "off").operations_url is None


@pytest.mark.parametrize("answer", ["unresolvable", "empty"])
def test_a_name_that_does_not_resolve_is_saved_with_a_warning(
    system: WebhookSystem, dns: FakeDns, answer: str
) -> None:
    if answer == "empty":
        dns.answers["later.example.com"] = []
    saved = subscribe(system, "https://later.example.com/hook")
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
    saved = subscribe(system, "http://127.0.0.1:8080/hook")
    assert saved.subscription.fields.url == "http://127.0.0.1:8080/hook"
    assert saved.warnings == []


def test_allowing_private_networks_for_one_process_does_not_change_the_settings(
    open_system: Opener,
) -> None:
    subscribe(open_system(allow_private_networks=True), "http://10.0.0.1/hook")
    system = open_system()
    assert system.settings.show().allow_private_networks is False
    with pytest.raises(InvalidInput, match="private address"):
        subscribe(system, "http://10.0.0.1/hook")
    assert [s.fields.url for s in system.subscriptions.list()] == ["http://10.0.0.1/hook"]


@pytest.mark.parametrize("value", ["1", "true", "yes", "TRUE"])
def test_the_environment_variable_allows_private_networks_for_one_process(
    open_system: Opener, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, value)
    subscribe(open_system(), "http://192.168.1.1/hook")
    monkeypatch.delenv(ENV_ALLOW_PRIVATE)
    with pytest.raises(InvalidInput):
        subscribe(open_system(), "http://192.168.1.1/hook")


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_an_environment_variable_that_does_not_allow_leaves_it_to_the_settings(
    open_system: Opener, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, value)
    with pytest.raises(InvalidInput):
        subscribe(open_system(), "http://192.168.1.1/hook")
    open_system().settings.set("allow_private_networks", "yes")
    assert subscribe(open_system(), "http://192.168.1.1/hook").warnings == []


def test_a_bad_environment_variable_is_refused(
    monkeypatch: pytest.MonkeyPatch, db: str | Path
) -> None:
    monkeypatch.setenv(ENV_ALLOW_PRIVATE, "maybe")
    with pytest.raises(InvalidInput, match=ENV_ALLOW_PRIVATE):
        WebhookSystem(db, deliver=False)
