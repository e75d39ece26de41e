"""The commands the docs show are run here, so that the docs cannot drift from the code."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from signin_webhooks.cli import main
from tests.helpers import ROOT

DOCS = ROOT / "docs"
BLOCK = re.compile(r"^( *)```(sh|python)\n(.*?)^\1```", re.M | re.S)
# The docs' example hosts (*.example.com) do not resolve here; make that quick, not a timeout.
OFFLINE_DNS = """
import socket
_real = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith("example.com"):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return _real(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
"""


def blocks(doc: str, language: str) -> list[str]:
    text = (DOCS / doc).read_text()
    return [
        "\n".join(line.removeprefix(indent) for line in body.splitlines())
        for indent, lang, body in BLOCK.findall(text)
        if lang == language
    ]


def environment(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "sitecustomize.py").write_text(OFFLINE_DNS)
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(tmp_path / "site"),
        "SIGNIN_WEBHOOKS_DB": str(tmp_path / "docs.db"),
    }


def workspace(tmp_path: Path) -> Path:
    """A folder holding the docs' examples where a checkout holds them, for a page's commands to
    run in: what they write (a headers file, say) stays out of the repository."""
    work = tmp_path / "work"
    shutil.copytree(DOCS / "examples", work / "docs" / "examples")
    return work


def run_shell_blocks(doc: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    script = "set -euo pipefail\n" + "\n".join(blocks(doc, "sh"))
    return subprocess.run(
        ["bash", "-c", script], cwd=workspace(tmp_path), env=environment(tmp_path),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("doc", ["publishing.md", "subscriptions.md"])
def test_every_command_a_page_shows_runs_in_order_and_succeeds(doc: str, tmp_path: Path) -> None:
    result = run_shell_blocks(doc, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_publishing_python_example_publishes(tmp_path: Path) -> None:
    (code,) = blocks("publishing.md", "python")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=environment(tmp_path),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "0", "1", "1"]


def test_subscriptions_python_example_manages_a_subscription(tmp_path: Path) -> None:
    (code,) = blocks("subscriptions.md", "python")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=environment(tmp_path),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["60.0 True", "maintenance", "96h"]


def _commands(doc: str) -> list[list[str]]:
    """Every `signin-webhooks ...` command line of a page, continuation lines joined."""
    found = []
    for block in blocks(doc, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line.split("|")[0], comments=True)
            if "signin-webhooks" in words:  # the last: `sudo -u signin-webhooks signin-webhooks`
                last = len(words) - 1 - words[::-1].index("signin-webhooks")
                named = last > 0 and words[last - 1].startswith("-")  # `journalctl -u NAME`
                if words[last + 1 :] and not named:  # nor `systemctl start signin-webhooks`
                    found.append(words[last + 1 :])
    return found


@pytest.mark.parametrize(
    "doc", ["../README.md", "admin.md", "operations.md", "publishing.md", "subscriptions.md"]
)
def test_every_command_a_page_names_exists_with_the_options_it_gives(doc: str) -> None:
    # operations.md shows commands for a live installation (ids of its own, systemd): their
    # names and options are checked against the command line itself.
    for words in _commands(doc):
        command: click.Command = main
        context = click.Context(main)
        options = {o for p in main.params for o in p.opts}
        for word in words:
            if word.startswith("-"):
                assert word.split("=")[0] in options, f"{doc}: {' '.join(words)}: {word}"
            elif isinstance(command, click.Group) and word in command.list_commands(context):
                found = command.get_command(context, word)
                assert found is not None
                command = found
                options |= {o for p in command.params for o in p.opts}
        assert not isinstance(command, click.Group) or command is not main, words
