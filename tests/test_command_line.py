"""The command line as a new user meets it: help, where options go, which commands create the
database, and what reaches a terminal. The tests that open a store run on each backend, but for
those about files (a mistyped path) and the one delivering system a SQLite file allows."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from signin_webhooks.actors import AlreadyRunning, WebhookSystem
from tests.backends import BACKENDS
from tests.helpers import event, invoke, one_error_line


def test_the_bare_command_prints_its_help_as_help_does_and_exits_0(command: str) -> None:
    done = subprocess.run([command], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "Usage: signin-webhooks [OPTIONS] COMMAND [ARGS]..."
    assert "\n  subscriptions " in done.stdout
    assert done.stderr == ""


def test_a_bare_command_group_prints_its_help_too() -> None:
    result = invoke("subscriptions")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ")
    assert " subscriptions [OPTIONS] COMMAND" in result.stdout.splitlines()[0]
    assert "rotate-secret" in result.stdout


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("where", ["before", "after"])
def test_db_and_allow_private_networks_work_before_and_after_the_command(
    database: str | Path, where: str
) -> None:
    options = ["--db", str(database), "--allow-private-networks"]
    create = ["subscriptions", "create", "--name", "n", "--context", "c"]
    create += ["--url", "http://127.0.0.1:9/hook", "--json"]
    args = [*options, *create] if where == "before" else [*create, *options]
    result = invoke(*args)
    assert result.exit_code == 0, result.stderr
    listed = invoke("subscriptions", "list", "--json", f"--db={database}")
    assert listed.exit_code == 0, listed.stderr
    assert [s["name"] for s in json.loads(listed.stdout)] == ["n"]


def test_read_only_commands_do_not_create_a_database(tmp_path: Path) -> None:
    typo = tmp_path / "typo.db"
    for args in (
        ["status"],
        ["subscriptions", "list"],
        ["deliveries", "list"],
        ["replay"],
        ["settings", "show"],
        ["retention"],
        ["subscriptions", "show", "sub_x"],
    ):
        result = invoke("--db", str(typo), *args)
        assert result.exit_code == 1, (args, result.stdout)
        line = one_error_line(result.stderr)
        assert line.startswith(f"database '{typo}' does not exist; check --db"), line
        assert result.stdout == ""
        assert list(tmp_path.iterdir()) == [], args


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["publish", "--json"], '{"id": "e1", "type": "signin.session.created",'
         ' "organization_id": "o", "context_id": "c", "session_id": "s"}'),
        (["subscriptions", "create", "--name", "n", "--context", "c", "--url",
          "http://127.0.0.1:9/", "--allow-private-networks"], None),
        (["settings", "set", "delivery_retention", "48h"], None),
    ],
)  # fmt: skip
@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_commands_that_write_create_the_database(
    database: str | Path, args: list[str], stdin: str | None
) -> None:
    """A file, or the tables in an empty PostgreSQL schema."""
    result = invoke("--db", str(database), *args, input=stdin)
    assert result.exit_code == 0, result.stderr
    assert not isinstance(database, Path) or database.exists()
    assert invoke("--db", str(database), "status").exit_code == 0


def test_a_second_delivering_system_is_one_line_naming_deliver_false(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    with WebhookSystem(db):
        with pytest.raises(AlreadyRunning) as refused:
            WebhookSystem(db).start()
        [line] = str(refused.value).splitlines()
        assert line.startswith("`run` is already delivering from this database (pid ")
        assert line.endswith("; to publish and read beside it, pass deliver=False")
        with WebhookSystem(db, deliver=False) as beside:  # as the README shows a host doing
            assert beside.publish(event("e1")).appended == 1


@pytest.mark.parametrize(
    ("args", "wanted", "unwanted"),
    [
        (["subscriptions", "rotate-secret", "--help"],
         "signed with the new secret and the old one", "Both are signed with"),
        (["settings", "--help"], "Change one setting: `settings set", "e.g."),
    ],
)  # fmt: skip
def test_help_says_what_it_means_in_whole_sentences(
    args: list[str], wanted: str, unwanted: str
) -> None:
    shown = " ".join(invoke(*args).stdout.split())
    assert wanted in shown and unwanted not in shown


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["subscriptions", "create"], ["--name TEXT", "--max-events N", "--timeout DURATION",
                                       "--flush-interval DURATION", "--since TIME", "[required]",
                                       "Examples:"]),
        (["subscriptions", "rotate-secret"], ["--grace DURATION", "Examples:"]),
        (["replay"], ["--limit N", "--after-sequence N", "--since TIME", "Examples:"]),
        (["deliveries", "list"], ["--limit N", "--event ID", "--since TIME", "Examples:"]),
        (["deliveries", "show"], ["--no-body", "--full", "Examples:"]),
        (["publish"], ["Examples:"]),
        (["run"], ["Example:"]),
        (["status"], ["Examples:"]),
    ],
)  # fmt: skip
def test_help_shows_examples_and_what_each_option_takes(args: list[str], shown: list[str]) -> None:
    text = invoke(*args, "--help").stdout
    for part in shown:
        assert part in text, part
    assert "TEXT" not in text.replace("--name TEXT", "").replace("--description TEXT", "")
    assert "INTEGER" not in text


def test_the_command_writes_its_own_shell_completion(command: str) -> None:
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete")):
        env = {**os.environ, "_SIGNIN_WEBHOOKS_COMPLETE": f"{shell}_source"}
        done = subprocess.run([command], env=env, capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and marker in done.stdout, (shell, done.stderr)
