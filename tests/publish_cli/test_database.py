"""`publish` and its database: where it is, who may read it, and what is a store failure, also
in a real process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import assert_reported, event, run_unprivileged
from tests.publish_cli import VALID, cli, line, publish, replay


def test_the_database_is_created_readable_by_its_owner_only(tmp_path):
    db = tmp_path / "hooks.db"
    old = os.umask(0)
    try:
        publish(db, line(event(1)))
    finally:
        os.umask(old)

    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_the_environment_selects_the_database(db):
    result = cli(None, "publish", input=line(event(1)), env={"SIGNIN_WEBHOOKS_DB": str(db)})

    assert result.exit_code == 0, result.stderr
    assert [e["session_id"] for e in replay(db)] == ["ses_1"]


def test_a_database_path_that_is_a_directory_is_a_store_failure(tmp_path):
    result = cli(tmp_path, "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "directory" in assert_reported(result.stderr)[0]


def test_a_database_in_a_missing_folder_is_a_store_failure(tmp_path):
    result = cli(tmp_path / "nowhere" / "hooks.db", "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "nowhere" in assert_reported(result.stderr)[0]


def test_a_file_that_is_not_sqlite_is_left_alone(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"these are my notes, not a database\n" * 200)

    result = cli(notes, "publish", input=line(event(1)))

    assert result.exit_code == 1
    assert "not" in assert_reported(result.stderr)[0]
    assert notes.read_bytes() == b"these are my notes, not a database\n" * 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_database_in_an_unwritable_folder_is_a_store_failure(tmp_path, command):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        done = run_unprivileged(command, "--db", str(folder / "hooks.db"), "publish",
                                input=VALID)  # fmt: skip
    finally:
        folder.chmod(0o700)

    assert done.returncode == 1
    assert_reported(done.stderr.decode(), done.stdout.decode())
    assert list(folder.iterdir()) == []


def test_a_read_only_database_is_a_store_failure_that_appends_nothing(tmp_path, command):
    folder = tmp_path / "locked"
    folder.mkdir()
    db = folder / "hooks.db"
    publish(db, line(event(1)))
    db.chmod(0o400)
    folder.chmod(0o500)
    try:
        done = run_unprivileged(command, "--db", str(db), "publish", input=line(event(2)))
    finally:
        folder.chmod(0o700)
        db.chmod(0o600)

    assert done.returncode == 1
    assert "read-only" in assert_reported(done.stderr.decode(), done.stdout.decode())[0]
    assert [e["session_id"] for e in replay(db)] == ["ses_1"]


@pytest.mark.parametrize(
    ("args", "data", "code"),
    [
        ([], b"\xff\xfe\x00{", 2),
        ([], line(event(1, type="nope")), 2),
        (["--db", "."], VALID, 1),
    ],
    ids=["not-utf8", "unknown-type", "directory"],
)
def test_a_real_process_reports_one_clear_error_and_no_traceback(
    db, tmp_path, command, args, data, code
):
    done = subprocess.run(
        [command, "--db", str(db), *args, "publish"],
        input=data,
        capture_output=True,
        cwd=tmp_path,
        timeout=60,
    )

    assert done.returncode == code
    assert done.stdout == b""
    assert_reported(done.stderr.decode(), done.stdout.decode())
    if not isinstance(db, Path) or db.exists():
        assert replay(db) == []


def test_a_publish_waiting_on_its_stdin_lets_another_process_publish(db, command):
    """`publish -` reads its input to the end before it takes the log's write lock: a writer
    that pauses holds up no other publish."""
    waiting = subprocess.Popen(
        [command, "--db", str(db), "publish", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert waiting.stdin is not None
    try:
        # More than a chunk of events: enough to append some if it began before the input ended.
        waiting.stdin.write(b"".join(line(event(i)) + b"\n" for i in range(40_000)))
        waiting.stdin.flush()  # returns once the pipe has room: all but its last 64 KiB are read

        other = subprocess.run(
            [command, "--db", str(db), "publish", "--json"],
            input=line(event(1, id="from-the-other")),
            capture_output=True,
            timeout=60,
        )

        assert other.returncode == 0, other.stderr.decode()
        assert json.loads(other.stdout)["first_sequence"] == 1
        assert waiting.poll() is None  # still waiting on its stdin, which is still open
        stdout, stderr = waiting.communicate(timeout=120)  # its stdin ends: it appends
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, stderr.decode()
    assert json.loads(stdout)["appended"] == 40_000
