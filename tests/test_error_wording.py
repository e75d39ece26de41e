"""A host program's errors speak of fields and parameters; the command line's of its options."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError
from tests.helpers import invoke, one_error_line

URL = "http://127.0.0.1:9/hook"
SUB = ("--name", "x", "--url", URL, "--context", "c")

# What the host program does, the field it hears about, and the same through the command line.
CASES: list[tuple[Callable[[WebhookSystem], Any], str, tuple[str, ...], str]] = [
    (lambda s: s.subscriptions.create(name="", url=URL, context="c"), "name",
     ("subscriptions", "create", "--name", " ", "--url", URL, "--context", "c"), "--name"),
    (lambda s: s.subscriptions.create(name="x", url=URL, context="c", max_events="0"),
     "max_events", ("subscriptions", "create", *SUB, "--max-events", "0"), "--max-events"),
    (lambda s: s.subscriptions.create(name="x", url=URL, context="c", flush_interval="1x"),
     "flush_interval", ("subscriptions", "create", *SUB, "--flush-interval", "1x"),
     "--flush-interval"),
    (lambda s: s.subscriptions.create(name="x", url=URL, context="c", retry_schedule="1m,x"),
     "retry_schedule", ("subscriptions", "create", *SUB, "--retry-schedule", "1m,x"),
     "--retry-schedule"),
    (lambda s: s.subscriptions.create(name="x", url=URL, context="c", events=["nope"]),
     "events", ("subscriptions", "create", *SUB, "--event", "nope"), "--event"),
    (lambda s: s.subscriptions.create(name="x", url=URL), "context",
     ("subscriptions", "create", "--name", "x", "--url", URL), "--context"),
    (lambda s: s.deliveries.list(status="lost"), "status",
     ("deliveries", "list", "--status", "lost"), "--status"),
    (lambda s: list(s.replay(since="yesterday")), "since",
     ("replay", "--since", "yesterday"), "--since"),
    (lambda s: list(s.replay(types=["signin.nothing"])), "types",
     ("replay", "--type", "signin.nothing"), "--type"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "field", "argv", "option"), CASES)
def test_a_refusal_names_the_field_to_a_host_and_the_option_at_the_command_line(
    tmp_path: Path, call: Any, field: str, argv: tuple[str, ...], option: str
) -> None:
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False) as system, pytest.raises(InvalidInput) as refused:
        call(system)
    message = str(refused.value)
    assert "--" not in message and field in refused.value.fields and field in message

    result = invoke("--db", str(db), *argv)
    assert result.exit_code == 2
    line = one_error_line(result.stderr)
    assert option in line and not line.startswith(field)


def test_a_directory_for_a_database_names_the_parameter_and_at_the_command_line_the_option(
    tmp_path: Path,
) -> None:
    with pytest.raises(SigninWebhooksError) as refused:
        WebhookSystem(tmp_path, deliver=False).start()
    assert "give db a file path" in str(refused.value)
    result = invoke("--db", str(tmp_path), "subscriptions", "list")
    assert "give --db a file path" in one_error_line(result.stderr)
