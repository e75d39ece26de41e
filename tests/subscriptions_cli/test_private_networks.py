"""Name resolution, and allowing private networks: for one invocation, one process, or in the
settings."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from tests.helpers import PREFIX
from tests.subscriptions_cli import LOCAL_URL, audit, ok, ok_json, refused, without


def test_a_name_that_does_not_resolve_is_saved_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_such_name(*args: object, **kw: object) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    result = ok(
        "subscriptions", "create", "--json", *without("--url"), "--url", "https://later.example/h"
    )
    assert json.loads(result.stdout)["url"] == "https://later.example/h"
    [warning] = result.stderr.splitlines()
    assert warning.startswith(f"{PREFIX}warning: cannot resolve host 'later.example'")
    assert [s["url"] for s in ok_json("subscriptions", "list")] == ["https://later.example/h"]


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def internal(host: str, port: int, *args: object, **kw: object) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.9.8.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", internal)
    line = refused("subscriptions", "create", *without("--url"), "--url", "https://intranet/h")
    assert line.startswith("endpoint host 'intranet' resolves to 10.9.8.7, a private address")
    assert audit() == ""


def test_the_flag_allows_private_networks_for_one_invocation_only() -> None:
    private = [*without("--url"), "--url", LOCAL_URL]
    created = ok_json("--allow-private-networks", "subscriptions", "create", *private)
    assert created["url"] == LOCAL_URL
    refused("subscriptions", "create", *private)
    assert ok_json("settings", "show")["allow_private_networks"] is False
    assert [s["url"] for s in ok_json("subscriptions", "list")] == [LOCAL_URL]


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_the_environment_variable_allows_private_networks_for_one_process(value: str) -> None:
    private = [*without("--url"), "--url", LOCAL_URL]
    ok("subscriptions", "create", *private, env={ENV_ALLOW_PRIVATE: value})
    refused("subscriptions", "create", *private)
    assert ok_json("settings", "show")["allow_private_networks"] is False


@pytest.mark.parametrize("value", ["0", "false", "no"])
def test_an_environment_variable_that_does_not_allow_defers_to_the_settings(value: str) -> None:
    private = [*without("--url"), "--url", LOCAL_URL]
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
        ok("subscriptions", "create", *without("--url"), "--url", LOCAL_URL)
