"""Guarantees that only real processes can show: an acknowledged publish survives kill -9, and
processes publishing at once lose nothing and share one sequence."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from signin_webhooks.eventstore import Store

# Appends calls of `size` events forever, printing each call's sequences once it has returned.
LOOPING_PUBLISHER = """
import sys
from signin_webhooks.actors import WebhookSystem

db, size = sys.argv[1], int(sys.argv[2])
with WebhookSystem(db, deliver=False) as system:
    call = 0
    while True:
        result = system.publish([
            {"type": "signin.session.created", "organization_id": "org-1", "context_id": "ctx-1",
             "session_id": f"loop-{call}-{i}", "padding": "x" * 500}
            for i in range(size)
        ])
        print(call, result.first_sequence, result.last_sequence, flush=True)
        call += 1
"""

# Waits for "go" on stdin, then publishes `calls` calls of `size` events, printing each report.
PUBLISHER = """
import json, sys
from signin_webhooks.actors import WebhookSystem

db, name, calls, size = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sys.stdin.readline()
with WebhookSystem(db, deliver=False) as system:
    for call in range(calls):
        result = system.publish([
            {"type": "signin.session.created", "organization_id": "org-1", "context_id": name,
             "session_id": f"{name}-{call}-{i}"}
            for i in range(size)
        ])
        print(json.dumps([result.appended, result.first_sequence, result.last_sequence]),
              flush=True)
"""


def python(script: str, *args: str, cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=cwd,
    )


def test_acknowledged_events_survive_kill_9_of_the_processes_writing_them(tmp_path, command):
    db = tmp_path / "hooks.db"
    size = 200
    writer = python(LOOPING_PUBLISHER, str(db), str(size), cwd=tmp_path)
    acknowledged: dict[str, range] = {}
    try:
        assert writer.stdout is not None
        first_ack = writer.stdout.readline()
        assert first_ack, writer.communicate()[1].decode()

        # A CLI publish while the writer is mid-loop, killed as soon as it has reported.
        batch = b"\n".join(
            json.dumps(
                {"type": "signin.dhcp.granted", "organization_id": "org-1",
                 "context_id": "ctx-1", "mac": "aa:bb", "ip": f"10.0.0.{i}", "id": f"cli-{i}"}
            ).encode()
            for i in range(100)
        )  # fmt: skip
        cli = subprocess.Popen(
            [command, "--db", str(db), "publish", "--json"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert cli.stdin is not None and cli.stdout is not None
        cli.stdin.write(batch)
        cli.stdin.close()
        report_line = cli.stdout.readline()
        cli.kill()
        cli.wait()
        assert report_line, cli.stderr.read().decode() if cli.stderr else ""
        report = json.loads(report_line)
        assert report["appended"] == 100
        acknowledged["cli"] = range(report["first_sequence"], report["last_sequence"] + 1)

        # Let the writer acknowledge a few more calls, then kill it wherever it is.
        for text in [first_ack] + [writer.stdout.readline() for _ in range(5)]:
            call, first, last = map(int, text.split())
            acknowledged[f"loop-{call}"] = range(first, last + 1)
    finally:
        writer.kill()
        writer.wait()
    assert writer.returncode == -9

    store = Store(db)
    conn = store.db.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    records = list(store.log.read())
    sequences = [r.sequence for r in records]

    # Every acknowledged event is there, as acknowledged.
    for name, expected in acknowledged.items():
        found = store.log.read_sequences(list(expected))
        assert [r.sequence for r in found] == list(expected), name
        if name == "cli":
            assert [r.id for r in found] == [f"cli-{i}" for i in range(100)]
        else:
            assert {json.loads(r.delivered())["session_id"].rsplit("-", 1)[0] for r in found} == {
                name
            }
    # The log is consistent: no gap, no half call (a call killed before its commit left nothing).
    assert sequences == list(range(1, len(sequences) + 1))
    assert store.log.last_sequence() == sequences[-1]
    per_call: dict[str, list[int]] = defaultdict(list)
    for record in records:
        body = json.loads(record.delivered())
        per_call[body.get("session_id", "cli-x").rsplit("-", 1)[0]].append(record.sequence)
    for name, seqs in per_call.items():
        size_of_call = 100 if name == "cli" else size
        assert seqs == list(range(seqs[0], seqs[0] + size_of_call)), name
    store.close()

    # And the database takes new events after the kills.
    again = subprocess.run(
        [command, "--db", str(db), "publish", "--json"],
        input=json.dumps(
            {"type": "signin.session.created", "organization_id": "o", "context_id": "c",
             "session_id": "after"}
        ).encode(),
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr.decode()
    assert json.loads(again.stdout)["first_sequence"] == sequences[-1] + 1


def test_two_processes_publishing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "hooks.db"
    calls, size = 20, 50
    publishers = [python(PUBLISHER, str(db), name, str(calls), str(size), cwd=tmp_path)
                  for name in ("left", "right")]  # fmt: skip
    for publisher in publishers:  # both are running before either starts
        assert publisher.stdin is not None
        publisher.stdin.write(b"go\n")
        publisher.stdin.flush()
    outputs = [publisher.communicate(timeout=120) for publisher in publishers]

    reports = []
    for publisher, (out, err) in zip(publishers, outputs, strict=True):
        assert publisher.returncode == 0, err.decode()
        assert "Traceback" not in err.decode()
        mine = [json.loads(text) for text in out.splitlines()]
        assert len(mine) == calls
        assert all(appended == size and last - first + 1 == size for appended, first, last in mine)
        assert [first for _, first, _ in mine] == sorted(first for _, first, _ in mine)
        reports += mine
    claimed = sorted(s for _, first, last in reports for s in range(first, last + 1))
    assert claimed == list(range(1, 2 * calls * size + 1))  # unique, none skipped

    store = Store(db)
    records = list(store.log.read())
    store.close()
    assert len(records) == 2000
    assert [r.sequence for r in records] == claimed
    assert len({r.id for r in records}) == 2000
    sessions = [json.loads(r.delivered())["session_id"] for r in records]
    assert sorted(sessions) == sorted(
        f"{name}-{call}-{i}"
        for name in ("left", "right")
        for call in range(calls)
        for i in range(size)
    )
    for name in ("left", "right"):  # each process's events in the order it published them
        own = [s for s in sessions if s.startswith(name)]
        assert own == [f"{name}-{call}-{i}" for call in range(calls) for i in range(size)]
