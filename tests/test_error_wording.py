"""A host program's errors speak of fields and parameters; the command line's of its options."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks import actors, eventstore
from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import NAMES
from signin_webhooks.eventstore import InvalidInput, NotFound, SigninWebhooksError
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


TOKEN_CASES: list[tuple[dict[str, Any], str, tuple[str, ...], str]] = [
    ({"scope": "admin", "organization": "o"},
     "an admin token has no organization or context; give one scope",
     ("--scope", "admin", "--organization", "o"),
     "an admin token has no --organization or --context; give one scope"),
    ({"scope": "admin", "name": "x" * 201}, "name must be at most 200 printable characters",
     ("--scope", "admin", "--name", "x" * 201),
     "--name must be at most 200 printable characters"),
]  # fmt: skip


@pytest.mark.parametrize(("given", "said", "argv", "line"), TOKEN_CASES)
def test_a_token_refusal_names_the_parameter_to_a_host_and_the_option_at_the_command_line(
    tmp_path: Path, given: dict[str, Any], said: str, argv: tuple[str, ...], line: str
) -> None:
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False) as system, pytest.raises(InvalidInput) as refused:
        system.tokens.create(**given)
    assert str(refused.value) == said
    result = invoke("--db", str(db), "tokens", "create", *argv)
    assert (result.exit_code, one_error_line(result.stderr)) == (2, line)


def test_a_word_that_is_also_a_field_is_left_as_it_is_where_it_is_not_the_field(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False) as system:
        system.tokens.create(scope="context", context="c1", organization="o1")
        with pytest.raises(SigninWebhooksError) as refused:
            system.tokens.create(scope="context", context="c1", organization="o2")
    assert (
        str(refused.value) == "context 'c1' is in organization 'o1', not 'o2'; give organization o1"
    )
    result = invoke("--db", str(db), "tokens", "create", "--context", "c1", "--organization", "o2")
    assert one_error_line(result.stderr) == (
        "context 'c1' is in organization 'o1', not 'o2'; give --organization o1"
    )


def test_a_way_out_names_the_method_to_a_host_and_the_command_at_the_command_line(
    tmp_path: Path,
) -> None:
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False) as system, pytest.raises(NotFound) as refused:
        system.subscriptions.get("sub_nope")
    assert str(refused.value) == "no subscription 'sub_nope'; `subscriptions.list()` shows the ids"
    assert refused.value.fields == ()
    result = invoke("--db", str(db), "subscriptions", "show", "sub_nope")
    assert one_error_line(result.stderr) == (
        "no subscription 'sub_nope'; `subscriptions list` shows the ids"
    )


def test_an_error_lists_the_fields_it_marks_and_words_them_as_it_is_asked() -> None:
    error = InvalidInput("give «from_sequence» or «since», not both; see `«deliveries.list()»`")
    assert str(error) == "give from_sequence or since, not both; see `deliveries.list()`"
    assert error.fields == ("from_sequence", "since")
    assert error.worded({"since": "--since", "deliveries.list()": "deliveries list"}) == (
        "give from_sequence or --since, not both; see `deliveries list`"
    )


def _error_classes() -> set[str]:
    for package in (eventstore, actors):
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    found, todo = set(), [SigninWebhooksError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return found


def _messages() -> dict[str, list[str]]:
    """The text of every message eventstore and actors give a product error, by where it is
    made: the strings of its first argument, or of the module-level name it is given."""
    classes, messages = _error_classes(), {}
    for package in (eventstore, actors):
        for path in sorted(Path(package.__path__[0]).glob("*.py")):
            tree = ast.parse(path.read_text())
            named = {
                target.id: node.value
                for node in tree.body
                if isinstance(node, ast.Assign)
                for target in node.targets
                if isinstance(target, ast.Name)
            }
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
                if name not in classes:
                    continue
                given = node.args[0]
                for ref in [n for n in ast.walk(given) if isinstance(n, ast.Name)]:
                    if ref.id in named:
                        given = ast.Tuple([given, named[ref.id]])
                texts = [
                    n.value
                    for n in ast.walk(given)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                ]
                messages[f"{path.name}:{node.lineno}"] = texts
    return messages


def test_no_message_of_the_core_names_a_command_line_option() -> None:
    flat = {where: " ".join(texts) for where, texts in _messages().items()}
    assert any("«name» must be 1 to 200 characters" in text for text in flat.values())
    options = {where: text for where, text in flat.items() if re.search(r"--[a-z]", text)}
    assert options == {}


def test_every_method_a_core_message_points_to_has_a_command() -> None:
    methods = {
        name
        for texts in _messages().values()
        for text in texts
        for name in re.findall(r"«([^«»]*\(.*?\))»", text)
    }
    assert "subscriptions.list()" in methods
    assert methods - set(NAMES) == set()
