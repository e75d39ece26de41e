"""Storage faults, in real processes: the disk fills during a publish, the database is read-only,
locked by another process past the busy timeout, or not a database at all.

Each fault is one clear line on stderr, never a traceback; and where the file is a database, the
log is intact afterwards: every acknowledged event is there, none of the failed call's, and
`replay` and `publish` work again once the fault is gone.
"""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import Store, StoreError, database
from tests import helpers
from tests.helpers import ROOT, event, installed, one_error_line

BUSY_TIMEOUT_MS = 1000  # the child's busy timeout, so that waiting out a lock takes a second
# The command, run by this interpreter with the busy timeout shortened: the product's own code,
# only quicker to give up on a lock.
PATCHED_CLI = f"""
import sys
import signin_webhooks.eventstore.database
signin_webhooks.eventstore.database.BUSY_TIMEOUT_MS = {BUSY_TIMEOUT_MS}
from signin_webhooks.cli import main
main(sys.argv[1:], prog_name="signin-webhooks")
"""
# Holds the database's write lock until its stdin closes, or until it is killed.
LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


def ndjson(events: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def run(
    db: Path,
    *args: str,
    input: bytes = b"",
    preexec: Callable[[], None] | None = None,
    patched: bool = False,
) -> subprocess.CompletedProcess[bytes]:
    """The command in a process of its own, as an operator runs it."""
    command = [sys.executable, "-c", PATCHED_CLI] if patched else [installed()]
    return subprocess.run(
        [*command, "--db", str(db), *args],
        input=input,
        capture_output=True,
        preexec_fn=preexec,
        cwd=ROOT,
        timeout=60,
    )


def one_clear_line(done: subprocess.CompletedProcess[bytes], code: int = 1) -> str:
    """The one error line of a failed command, without its prefix."""
    stderr, stdout = done.stderr.decode(), done.stdout.decode()
    assert done.returncode == code, (done.returncode, stdout, stderr)
    return one_error_line(stderr, stdout)


def publish(db: Path, events: list[dict[str, Any]]) -> None:
    """Acknowledged events: the publish returned."""
    with WebhookSystem(db, deliver=False) as system:
        assert system.publish(events).appended == len(events)


def assert_intact(db: Path, acknowledged: list[str]) -> None:
    """SQLite finds no damage, the log holds exactly the acknowledged events, and it takes more.
    (Checked in this process: only the fault needs a process of its own.)"""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()
    with WebhookSystem(db, deliver=False) as system:
        assert [r.id for r in system.replay()] == acknowledged
        assert system.publish(event("evt-999")).appended == 1
        assert [r.id for r in system.replay()] == [*acknowledged, "evt-999"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database holding three acknowledged events."""
    path = tmp_path / "hooks.db"
    publish(path, [event(f"evt-{n}") for n in range(3)])
    return path


ACKNOWLEDGED = ["evt-0", "evt-1", "evt-2"]


# -- the disk fills ----------------------------------------------------------------------------


def file_size_limit(limit: int) -> Callable[[], None]:
    """In the child, before exec: files may grow to `limit` bytes, and a write past it fails
    with EFBIG instead of killing the process."""

    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize(
    "limit",
    [40_000, 100_000, 200_000],
    ids=["first-page", "mid-batch", "late-in-batch"],
)
def test_a_publish_that_fills_the_disk_fails_with_one_line_and_appends_nothing(db, limit):
    batch = [
        event(f"evt-{n}", pad="x" * 1000) for n in range(100, 400)
    ]  # some 300 KiB: past every limit

    done = run(db, "publish", input=ndjson(batch), preexec=file_size_limit(limit))

    line = one_clear_line(done)
    assert str(db) in line
    assert "try again" in line
    assert_intact(db, ACKNOWLEDGED)


def test_when_the_disk_cannot_even_hold_the_shared_memory_file_publish_fails_cleanly(db):
    done = run(db, "publish", input=ndjson([event("evt-7")]), preexec=file_size_limit(1000))

    one_clear_line(done)
    assert_intact(db, ACKNOWLEDGED)


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs: a real disk that fills. Needs the right to mount."""
    folder = tmp_path / "small"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(folder)],
        capture_output=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_publish_on_a_full_filesystem_says_the_disk_is_full_and_appends_nothing(
    small_filesystem,
):
    db = small_filesystem / "hooks.db"
    publish(db, [event(f"evt-{n}") for n in range(3)])

    done = run(
        db, "publish", input=ndjson([event(f"evt-{n}", pad="x" * 1000) for n in range(100, 700)])
    )

    assert "disk full" in one_clear_line(done)
    assert_intact(db, ACKNOWLEDGED)


# -- the database is read-only -----------------------------------------------------------------


def run_unprivileged(
    db: Path, *args: str, input: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return helpers.run_unprivileged(installed(), "--db", str(db), *args, input=input, cwd=ROOT)


@pytest.mark.parametrize(
    "args",
    [
        ["publish"],
        ["subscriptions", "create", "--name", "CRM", "--url", "https://93.184.216.34/h",
         "--context", "ctx_lobby"],
        ["settings", "set", "allow_private_networks", "true"],
    ],
    ids=["publish", "subscriptions-create", "settings-set"],
)  # fmt: skip
def test_writing_to_a_read_only_database_is_one_line_and_reading_still_works(db, args):
    db.chmod(0o400)  # the folder stays writable: only the file is read-only
    try:
        done = run_unprivileged(db, *args, input=ndjson([event("evt-7")]))
        line = one_clear_line(done)
        readable = run_unprivileged(db, "replay")
    finally:
        for path in db.parent.glob(f"{db.name}*"):
            path.chmod(0o600)

    assert "read-only" in line
    assert str(db) in line
    assert readable.returncode == 0, readable.stderr
    assert [json.loads(x)["id"] for x in readable.stdout.splitlines()] == ACKNOWLEDGED
    assert_intact(db, ACKNOWLEDGED)


# -- the database is locked by another process -------------------------------------------------


@pytest.fixture
def locked(db: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process holding the database's write lock (BEGIN EXCLUSIVE), then killed."""
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"locked\n"
        yield holder
    finally:
        holder.kill()
        holder.wait(timeout=10)


@pytest.mark.parametrize(
    "args",
    [
        ["publish"],
        ["subscriptions", "create", "--name", "CRM", "--url", "https://93.184.216.34/h",
         "--context", "ctx_lobby"],
        ["subscriptions", "list"],
        ["deliveries", "list"],
        ["status"],
    ],
    ids=["publish", "subscriptions-create", "subscriptions-list", "deliveries-list", "status"],
)  # fmt: skip
def test_a_database_locked_past_the_busy_timeout_is_one_line_saying_so(db, locked, args):
    done = run(db, *args, input=ndjson([event("evt-7")]), patched=True)

    line = one_clear_line(done)
    assert "locked" in line
    assert str(db) in line
    locked.kill()  # the holder dies holding the lock: the kernel and SQLite release it
    locked.wait(timeout=10)
    assert_intact(db, ACKNOWLEDGED)


def test_a_new_database_another_process_is_making_is_waited_for_not_refused(tmp_path, monkeypatch):
    path = tmp_path / "new.db"
    maker = sqlite3.connect(path, isolation_level=None)  # mid-way through making the file
    maker.execute("BEGIN IMMEDIATE")
    paused = []

    def pause(seconds: float) -> None:  # refused once: the maker finishes meanwhile
        paused.append(seconds)
        if maker.in_transaction:
            maker.execute("COMMIT")

    monkeypatch.setattr(database, "_pause", pause, raising=False)
    try:
        with WebhookSystem(path, deliver=False) as system:
            assert system.publish(event("evt-0")).appended == 1
    finally:
        maker.close()
    assert paused  # the switch to WAL met the maker's lock, and waited for it
    assert_intact(path, ["evt-0"])


def test_a_lock_sqlite_gives_up_on_at_once_is_not_said_to_have_been_waited_for(db):
    store, other = Store(db), sqlite3.connect(db, isolation_level=None)
    try:
        with pytest.raises(StoreError) as refused, store.errors(), store.db.snapshot() as conn:
            other.execute("PRAGMA user_version = 7")  # a write after this read began
            conn.execute("PRAGMA user_version = 8")  # so this one cannot be made: SQLite says
            # busy at once, as no wait would help
    finally:
        other.close()
        store.close()
    assert str(refused.value) == (
        f"database '{db}' is locked by another process, and SQLite gave up on it without"
        " waiting; try again"
    )


def test_replay_reads_the_log_while_another_process_holds_the_write_lock(db, locked):
    done = run(db, "replay", patched=True)

    assert done.returncode == 0, done.stderr
    assert [json.loads(x)["id"] for x in done.stdout.splitlines()] == ACKNOWLEDGED


# -- not a database ----------------------------------------------------------------------------

GARBAGE = {
    "random-bytes": bytes(range(256)) * 80,
    "text": b"these are my notes, not a database\n" * 200,
    "sqlite-header-then-garbage": b"SQLite format 3\x00" + bytes(range(256)) * 20,
}
COMMANDS = {
    "publish": ["publish"],
    "replay": ["replay"],
    "replay-all": ["replay", "--all"],
    "subscriptions-list": ["subscriptions", "list"],
    "subscriptions-create": ["subscriptions", "create", "--name", "CRM", "--url",
                             "https://93.184.216.34/h", "--context", "ctx_lobby"],
    "deliveries-list": ["deliveries", "list"],
    "status": ["status"],
    "settings-show": ["settings", "show"],
    "retention": ["retention"],
}  # fmt: skip


CASES = [
    *((command, "random-bytes") for command in COMMANDS),
    *((command, garbage) for command in ("publish", "replay") for garbage in GARBAGE),
]


@pytest.mark.parametrize(
    ("command", "garbage"), sorted(set(CASES)), ids=[f"{c}-{g}" for c, g in sorted(set(CASES))]
)
def test_a_file_that_is_not_a_database_is_one_line_and_left_as_it_was(tmp_path, command, garbage):
    path = tmp_path / "notes.db"
    path.write_bytes(GARBAGE[garbage])
    path.chmod(0o600)  # owner only, as a database is made: no warning about its mode

    done = run(path, *COMMANDS[command], input=ndjson([event("evt-7")]))

    line = one_clear_line(done)
    assert "not a signin-webhooks database" in line
    assert str(path) in line
    assert path.read_bytes() == GARBAGE[garbage]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_another_programs_sqlite_database_is_one_line_and_left_as_it_was(tmp_path, command):
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE contacts (name TEXT); CREATE TABLE events (at TEXT);")
    conn.close()
    path.chmod(0o600)
    before = path.read_bytes()

    done = run(path, *COMMANDS[command], input=ndjson([event("evt-7")]))

    line = one_clear_line(done)
    assert "SQLite database of another program (its tables: contacts, events)" in line
    assert str(path) in line
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.db"]


def test_a_damaged_database_is_one_line_saying_so(db):
    with open(db, "r+b") as f:  # keep the header, wreck the pages holding the log
        f.seek(4096)
        f.write(b"\xde\xad" * 6 * 1024)

    for args in (["publish"], ["replay"]):
        line = one_clear_line(run(db, *args, input=ndjson([event("evt-7")])))
        assert "damaged" in line
        assert str(db) in line


# -- one run per database ----------------------------------------------------------------------


def start_run(db: Path) -> subprocess.Popen[bytes]:
    """`run` in a process of its own, returned once it says it is delivering."""
    process = subprocess.Popen(
        [installed(), "--db", str(db), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stderr is not None
    assert process.stderr.readline().startswith(b"signin-webhooks: delivering from")
    return process


def test_a_second_run_on_the_same_database_is_refused_naming_the_one_that_holds_it(db):
    first = start_run(db)
    try:
        line = one_clear_line(run(db, "run"))
        assert "already delivering" in line
        assert f"pid {first.pid}" in line
        assert line.endswith("; stop it first")  # deliver=False is for the Python API
        assert run(db, "status").stdout.startswith(f"run: up (pid {first.pid}".encode())
    finally:
        first.kill()  # even killed outright, it lets go of the database
        first.wait(timeout=10)

    second = start_run(db)
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
    assert_intact(db, ACKNOWLEDGED)
