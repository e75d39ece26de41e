"""Random strings in every option of `subscriptions create`: saved or refused with one line."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from tests.helpers import PREFIX
from tests.hostile_input import BASE, PUBLIC_ADDRESS, assert_refused, cli, replayed_lines

OPTIONS = {
    "--name": st.text(max_size=30),
    "--description": st.text(max_size=30),
    "--url": st.from_regex(
        r"https?://[a-z0-9.\-\[\]:@%]{0,20}(:[0-9]{0,6})?/[^ ]{0,10}", fullmatch=True
    ),
    "--context": st.text(max_size=30),
    "--event": st.from_regex(r"(signin\.)?[a-z.*]{0,20}", fullmatch=True),
    "--header": st.from_regex(r"[A-Za-z\-_ ]{0,10}:[ -~\r\n\t\x00]{0,12}", fullmatch=True),
    "--content-type": st.from_regex(
        r"[a-z\-+*]{0,12}/[a-z\-+*]{0,12}(; ?[a-z]+=[a-z0-9\-\"]*)?", fullmatch=True
    ),
    "--max-events": st.from_regex(r"[-+ ]?[0-9_.eE]{0,9}", fullmatch=True),
    "--max-bytes": st.from_regex(r"[-+ ]?[0-9_.eE]{0,10}( ?[KkMm]i?B)?", fullmatch=True),
    "--flush-interval": st.from_regex(r"([-+]?[0-9.]{0,4}(ms|[smhd])?){0,3}", fullmatch=True),
    "--retry-schedule": st.from_regex(r"([-+]?[0-9.]{0,4}(ms|[smhd])?[,;]?){0,6}", fullmatch=True),
    "--timeout": st.from_regex(r"[-+]?[0-9.]{0,5}(ms|[smhd])?", fullmatch=True),
}
VALID = {
    "--name": ["CRM", " Compliance feed ", "名前"],
    "--description": ["", "Guest sign-ins for the CRM"],
    "--url": ["https://hooks.example.com/h", f"http://{PUBLIC_ADDRESS}:8080/x?y=1"],
    "--context": ["ctx_1", "Lobby Wi-Fi"],
    "--event": ["*", "signin.session.*", "signin.dhcp.granted"],
    "--header": ["X-Api-Key: abc", "Authorization: Bearer t0k3n"],
    "--content-type": ["application/json", "application/x-ndjson", "application/ce+json"],
    "--max-events": ["1", "20000", "1000000"],
    "--max-bytes": ["65536", "67108864"],
    "--flush-interval": ["0s", "20m", "24h", "1h30m"],
    "--retry-schedule": ["2m,4m", "1s"],
    "--timeout": ["30s", "1m", "500ms"],
}
REPEATABLE = ("--event", "--header")
# What a terminal can hand over: any text, and argv bytes that are not UTF-8, which Python
# passes on as lone surrogates.
undecodable = st.integers(min_value=0x80, max_value=0xFF).map(lambda b: chr(0xDC00 + b))
anything = st.text(st.characters(codec="utf-8") | undecodable, max_size=30)


def public_dns(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """DNS that finds every name, at a public address, and fails as the real one on bad names."""
    host.encode("idna")
    return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC_ADDRESS, port))]


@st.composite
def option_values(draw: st.DrawFn) -> list[tuple[str, str]]:
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS)), min_size=1, max_size=3, unique=True))
    pairs = []
    for option in chosen:
        values = st.sampled_from(VALID[option]) | OPTIONS[option] | anything
        count = draw(st.integers(min_value=1, max_value=3)) if option in REPEATABLE else 1
        pairs += [(option, draw(values)) for _ in range(count)]
    return pairs


@pytest.fixture
def operator_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One database for all examples, holding one subscription: each example compares the state
    before and after its own command, so they need no database of their own."""
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    db = tmp_path / "hooks.db"
    with mock.patch.object(socket, "getaddrinfo", public_dns):
        assert cli(db, "subscriptions", "create", *BASE).exit_code == 0
    return db


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=option_values())
def test_random_strings_in_any_option_of_create_are_saved_or_refused_with_one_line(
    operator_db: Path, pairs: list[tuple[str, str]]
) -> None:
    db = operator_db
    given_options = {option for option, _ in pairs}
    args = [arg for i, arg in enumerate(BASE) if BASE[i - i % 2] not in given_options]
    args += [text for pair in pairs for text in pair]
    listed = ["subscriptions", "list", "--all", "--json"]
    with mock.patch.object(socket, "getaddrinfo", public_dns):
        before_list, before_log = cli(db, *listed).stdout, replayed_lines(db, "--all")
        result = cli(db, "subscriptions", "create", "--json", *args)

        if result.exit_code != 0:
            event("refused")
            assert_refused(result, one_line=True)
            assert cli(db, *listed).stdout == before_list
            assert replayed_lines(db, "--all") == before_log
            return
        event("saved")
        assert all(text.startswith(f"{PREFIX}warning: ") for text in result.stderr.splitlines())
        created = json.loads(result.stdout)
        assert created["secret"].startswith("whsec_")
        shown = json.loads(cli(db, "subscriptions", "show", created["id"], "--json").stdout)
        url = dict(pairs).get("--url", BASE[3])
        assert shown["url"] == url == created["url"]
        after = json.loads(cli(db, *listed).stdout)
        assert [s["id"] for s in after] == [s["id"] for s in json.loads(before_list)] + [
            created["id"]
        ]
        assert replayed_lines(db, "--all")[:-1] == before_log  # one event more, nothing else


def test_a_value_that_is_not_utf8_is_one_clear_line_and_nothing_is_stored(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    for option in ("--name", "--description", "--context"):
        args = [arg for i, arg in enumerate(BASE) if BASE[i - i % 2] != option]
        result = cli(db, "subscriptions", "create", *args, option, "caf\udce9")
        assert "UTF-8" in assert_refused(result, one_line=True)[0]
    assert cli(db, "replay", "--all").stdout == ""
