"""Long work shows its progress on stderr when stderr is a terminal (a pty here), and prints
nothing but its report when it is not."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore import format_time
from tests.helpers import event, installed, subscribe

START = dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC)


def run(db: Path, *args: str, terminal: bool) -> tuple[int, str, str]:
    """The command with stderr on a terminal of its own, or on a pipe: exit, stdout, stderr."""
    if not terminal:
        done = subprocess.run(
            [installed(), "--db", str(db), *args], capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr
    leader, follower = os.openpty()
    process = subprocess.Popen(
        [installed(), "--db", str(db), *args], stdout=subprocess.PIPE, stderr=follower
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            part = os.read(leader, 65536)
        except OSError:  # EIO: the command has closed the terminal's last writer
            break
        if not part:
            break
        drawn += part
    os.close(leader)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    return process.wait(timeout=120), out, drawn.decode(errors="replace")


def assert_progressed(drawn: str) -> None:
    """The bar was drawn part way, then whole."""
    shown = [int(p) for p in re.findall(r"(\d+)%", drawn)]
    assert any(0 < p < 100 for p in shown), drawn
    assert shown[-1] == 100, drawn


@pytest.fixture
def large_file(tmp_path: Path) -> Path:
    """Some 3 MiB of NDJSON: large enough to be read in many parts."""
    path = tmp_path / "events.ndjson"
    with path.open("w") as f:
        for i in range(12000):
            f.write(json.dumps(event(f"e{i}", pad="x" * 200)) + "\n")
    return path


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_publish_of_a_large_file_shows_progress_only_on_a_terminal(db, large_file, terminal):
    code, out, err = run(db, "publish", "--json", str(large_file), terminal=terminal)
    assert code == 0, err
    assert json.loads(out)["appended"] == 12000
    if terminal:
        assert f"publishing {large_file}" in err
        assert_progressed(err)
    else:
        assert err == ""


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "pipe"])
def test_recover_of_a_long_window_shows_progress_only_on_a_terminal(db, terminal):
    clock = ManualClock(START)
    with WebhookSystem(db, deliver=False, clock=clock) as system:
        sub_id = subscribe(system, "https://crm.example.com/hook").subscription.id
        for hour in range(24):  # a day of events, an hour apart
            system.publish([event(f"h{hour}-{i}") for i in range(200)])
            clock.advance(hours=1)
    since, until = format_time(START), format_time(START + dt.timedelta(days=1))
    code, out, err = run(
        db, "subscriptions", "recover", sub_id, "--since", since, "--until", until,
        terminal=terminal,
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("recovery of 4800 events requested")
    if terminal:
        assert "reading the window" in err
        assert_progressed(err)
    else:
        assert err == ""
