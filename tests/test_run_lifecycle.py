"""`run` starts whole or not at all, and stops by itself when its database goes bad under it:
damaged, read-only, deleted or replaced, each is one line on stderr and exit 1, never a hang,
a traceback, or delivery into a file nobody else sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.router import Router
from signin_webhooks.eventstore import StoreError
from tests.helpers import (
    PREFIX,
    event,
    installed,
    one_error_line,
    run_unprivileged,
    subscribe,
    wait_until,
)

DELIVERING = "signin-webhooks: delivering from"
CREATE = ["subscriptions", "create", "--name", "x", "--url", "https://crm.example.com/hook",
          "--context", "ctx_lobby"]  # fmt: skip


@pytest.fixture
def filled(db: Path) -> Path:
    """A database holding a subscription and enough events to span some hundred pages."""
    with WebhookSystem(db, deliver=False) as system:
        subscribe(system, "https://crm.example.com/hook")
        system.publish([event(f"e{i}", pad="x" * 500) for i in range(2000)])
    return db


def damage(db: Path) -> None:
    """Wreck pages in the middle of the log, away from where an append writes."""
    with open(db, "r+b") as f:
        f.seek(20 * 4096)
        f.write(b"\xde\xad" * 6 * 1024)


def command(db: Path, *args: str, input: bytes = b"") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed(), "--db", str(db), *args],
        input=input.decode(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def start_run(db: Path) -> subprocess.Popen[str]:
    """`run` in a process of its own, returned once it says it is delivering."""
    process = subprocess.Popen(
        [installed(), "--db", str(db), "run"], stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    assert process.stderr.readline().startswith(DELIVERING)
    return process


def last_words(process: subprocess.Popen[str]) -> str:
    """What `run` said after "delivering", once it has exited by itself: one line, among the
    lines of its log."""
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("`run` did not stop by itself") from None
    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    [line] = [line for line in stderr.splitlines() if line.startswith(PREFIX)]  # beside the log
    return line.removeprefix(PREFIX)


# -- starting


def test_run_on_a_damaged_database_exits_1_with_one_line(filled):
    damage(filled)

    done = command(filled, "run")

    assert done.returncode == 1
    assert "is damaged" in one_error_line(done.stderr)


def test_replay_and_status_refuse_a_damaged_database_with_one_line(filled):
    damage(filled)

    for args in (["replay"], ["status"]):
        done = command(filled, *args)
        assert done.returncode == 1, args
        assert "is damaged" in one_error_line(done.stderr), args


def test_publish_into_a_database_damaged_where_it_writes_is_refused_with_one_line(filled):
    """publish reads no more of the file than an append touches (the log's end and its id
    index); damage there is one line and appends nothing."""
    size = filled.stat().st_size
    with open(filled, "r+b") as f:  # the last pages: the log's end and the newest index pages
        f.seek(size - 16 * 4096)
        f.write(b"\xde\xad" * 8 * 4096)

    done = command(filled, "publish", input=json.dumps(event("e-new")).encode())

    assert done.returncode == 1
    assert "is damaged" in one_error_line(done.stderr)


def test_a_failure_while_starting_stops_every_actor_already_started(db, clock, monkeypatch):
    with WebhookSystem(db, deliver=False) as system:
        subscribe(system, "https://crm.example.com/hook")
    before = set(threading.enumerate())

    def fails(self: Router, position: int) -> None:  # after the batchers have started
        raise StoreError("the log could not be read")

    monkeypatch.setattr(Router, "_load_state_at", fails)
    with pytest.raises(StoreError, match="the log could not be read"):
        WebhookSystem(db, clock=clock).start()

    wait_until(lambda: set(threading.enumerate()) <= before, "every started thread to end")
    monkeypatch.undo()
    with WebhookSystem(db, clock=clock) as system:  # the lock was let go
        assert system.running() is not None


def test_run_on_a_read_only_database_exits_1_with_one_line(filled):
    filled.chmod(0o400)
    try:
        done = run_unprivileged(installed(), "--db", str(filled), "run")
    finally:
        for path in filled.parent.glob(f"{filled.name}*"):
            path.chmod(0o600)

    assert done.returncode == 1, done.stderr
    line = one_error_line(done.stderr.decode())
    assert "is read-only" in line


def test_run_on_a_read_only_filesystem_exits_1_with_one_line(filled):
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a mount namespace")
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && exec "$2" --db "$3" run'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(filled.parent), installed(), str(filled)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if not done.stderr.startswith(PREFIX):
        pytest.skip(f"cannot mount read-only here: {done.stderr.strip()}")

    assert done.returncode == 1
    assert "read-only file system" in one_error_line(done.stderr).lower()


# -- while running


def test_run_stops_with_one_line_when_its_database_is_deleted(filled):
    process = start_run(filled)
    filled.unlink()

    assert "was deleted while `run` delivered from it" in last_words(process)


def test_run_stops_with_one_line_when_its_database_is_replaced(filled, tmp_path):
    other = tmp_path / "other.db"
    with WebhookSystem(other, deliver=False) as system:
        system.publish(event("elsewhere"))
    process = start_run(filled)
    os.replace(other, filled)

    assert "was replaced by another file" in last_words(process)


def test_a_host_program_hears_why_delivery_halted(db, clock):
    halted: list[str] = []
    with WebhookSystem(db, clock=clock) as system:
        system.on_halt(halted.append)
        db.unlink()
        reason = wait_until(lambda: halted, "the halt")[0]

    assert reason.startswith(f"database '{db}' was deleted")


def test_publish_does_not_make_a_new_database_in_place_of_a_deleted_one(filled):
    process = start_run(filled)  # it has delivered from the file: its lock stays beside it
    process.terminate()
    process.communicate(timeout=30)
    filled.unlink()

    for args in (["publish"], ["run"], CREATE):
        done = command(filled, *args, input=b'{"type":"signin.session.created"}')
        assert done.returncode == 1, args
        assert "is not there, though `run` has delivered from it" in one_error_line(done.stderr)
    assert not filled.exists()
