"""The run lock belongs to the database file, whatever name reaches it, and never follows a link
or overwrites a file that is not a lock: every way of naming one database meets the same lock."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.runlock import AlreadyRunning, RunLockError
from tests.helpers import installed, one_error_line

VICTIM = b"a file that belongs to someone else\n"


@pytest.fixture
def existing(db: Path) -> Path:
    """A database that is there, as one a lock is planted beside would be."""
    WebhookSystem(db, deliver=False).start().stop()
    return db


@pytest.fixture
def running(db: Path, clock) -> Iterator[WebhookSystem]:
    with WebhookSystem(db, clock=clock) as system:
        yield system


def second_run(path: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed(), "--db", str(path), "run"], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_a_symlink_to_the_database_meets_the_same_lock(running, db, tmp_path):
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "link.db").symlink_to(db)

    done = second_run(other / "link.db")

    assert done.returncode == 1
    assert f"already delivering from this database (pid {os.getpid()}" in one_error_line(
        done.stderr
    )


def test_a_relative_path_meets_the_same_lock(running, db):
    done = second_run(db.name, cwd=db.parent)

    assert done.returncode == 1
    assert "already delivering" in one_error_line(done.stderr)


def test_a_hard_link_to_the_database_is_refused_naming_the_links(running, db, tmp_path):
    os.link(db, tmp_path / "alias.db")

    with pytest.raises(RunLockError, match="has 2 hard links"):
        WebhookSystem(tmp_path / "alias.db").start()
    done = second_run(tmp_path / "alias.db")

    assert done.returncode == 1
    assert "alias.db' has 2 hard links" in one_error_line(done.stderr)


def test_a_bind_mount_of_the_folder_meets_the_same_lock(running, db, tmp_path):
    mount = tmp_path / "mounted"
    mount.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare(1) to make a mount namespace")
    script = 'mount --bind "$1" "$2" && exec "$3" --db "$2/hooks.db" run'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", script, "sh", str(db.parent), str(mount), installed()],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "mount" in done.stderr and "signin-webhooks" not in done.stderr:
        pytest.skip(f"cannot bind-mount here: {done.stderr.strip()}")

    assert done.returncode == 1
    assert "already delivering" in one_error_line(done.stderr)


def test_two_systems_in_one_process_meet_the_same_lock(running, db):
    with pytest.raises(AlreadyRunning):
        WebhookSystem(db.parent / "." / db.name).start()


def test_a_lock_that_is_a_symlink_is_refused_and_its_target_left_as_it_was(existing, db, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    Path(f"{db}.run.lock").symlink_to(victim)

    done = second_run(db)

    assert done.returncode == 1
    assert "is a symbolic link" in one_error_line(done.stderr)
    assert victim.read_bytes() == VICTIM


def test_a_lock_that_is_a_hard_link_is_refused_and_its_file_left_as_it_was(existing, db, tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(VICTIM)
    os.link(victim, f"{db}.run.lock")

    done = second_run(db)

    assert done.returncode == 1
    assert "is not a run lock" in one_error_line(done.stderr)
    assert victim.read_bytes() == VICTIM


def test_a_lock_file_holding_something_else_is_left_as_it_was(existing, db):
    lock = Path(f"{db}.run.lock")
    lock.write_bytes(VICTIM)

    with pytest.raises(RunLockError, match="holds something other than a run lock"):
        WebhookSystem(db).start()

    assert lock.read_bytes() == VICTIM


def test_a_lock_left_by_a_run_that_ended_is_taken_over(db, clock):
    with WebhookSystem(db, clock=clock):
        pass
    Path(f"{db}.run.lock").write_bytes(b"pid 1 on elsewhere")  # as a run killed with -9 leaves it

    with WebhookSystem(db, clock=clock) as system:
        assert system.running() == f"pid {os.getpid()} on {os.uname().nodename}"
