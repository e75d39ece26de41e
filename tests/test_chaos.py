"""Chaos with real processes: `run` killed with SIGKILL at random moments while another process
publishes, and `publish` killed in the middle of one call.

What must hold afterwards is what a consumer and an operator rely on: every event reached every
matching endpoint at least once, in log order of first receipt; the only duplicates are whole
batches re-sent under their original webhook-id with the identical body; and a killed publish
left all of its events in the log or none, with the log readable.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import Store
from tests.endpoint import Endpoint, Reply, Trickle
from tests.helpers import event, objects, wait_until

SEED = 20260131
KILLS = 6
DEADLINE = 40.0  # real seconds for the last `run` to deliver everything after the publisher ends
POLL = 0.05  # real seconds between two checks while waiting

# Publishes the calls in the file, in order, pausing between calls; prints "done" at the end.
PUBLISHER = """
import json, sys, time
from signin_webhooks.actors import WebhookSystem

db, calls_file = sys.argv[1], sys.argv[2]
started = time.monotonic()
with open(calls_file) as f:
    plan = json.load(f)
with WebhookSystem(db, deliver=False) as system:
    for pause, events in plan:
        system.publish(events)
        time.sleep(pause)
print(f"done {time.monotonic() - started:.1f}", flush=True)
"""


SUBSCRIPTIONS: dict[str, dict[str, Any]] = {
    "lobby": {"context": "ctx_a"},
    "sessions": {
        "context": "ctx_b",
        "events": ["signin.session.*"],
        "content_type": "application/x-ndjson",
    },
    "organization": {"organization": "org_1"},
}


def random_event(n: int, rng: random.Random) -> dict[str, Any]:
    """The n-th event of the run: its scope and type drawn from `rng`, its body UTF-8."""
    context, organization = rng.choice(
        [("ctx_a", "org_1"), ("ctx_b", "org_1"), ("ctx_c", "org_1"), ("ctx_d", "org_2")]
    )
    type = "signin.session.created" if rng.random() < 0.7 else "signin.dhcp.granted"
    note = "é" * rng.randrange(3)  # bodies are UTF-8, not only ASCII
    return event(f"e{n:05d}", type, context=context, organization=organization, note=note)


def matches(name: str, event: dict[str, Any]) -> bool:
    scope = SUBSCRIPTIONS[name]
    if "context" in scope and event["context_id"] != scope["context"]:
        return False
    if "organization" in scope and event["organization_id"] != scope["organization"]:
        return False
    return "events" not in scope or event["type"].startswith("signin.session.")


@pytest.fixture
def endpoints(endpoints: Callable[..., Endpoint]) -> dict[str, Endpoint]:
    """One endpoint per subscription; lobby's answers slowly (about 40 ms), so that kills often
    fall between a request received and its attempt recorded, and batches are re-sent."""
    return {
        name: endpoints(Trickle(Reply(200), delay=0.001) if name == "lobby" else Reply(200))
        for name in SUBSCRIPTIONS
    }


class Runner:
    """`signin-webhooks run` on the database, started again after each kill."""

    def __init__(self, command: str, db: Path, log: Path) -> None:
        self.argv = [command, "--db", str(db), "--allow-private-networks", "run"]
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as err:
            self.process = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def test_run_killed_at_random_moments_loses_nothing_and_only_resends_whole_batches(
    tmp_path: Path, command: str, endpoints: dict[str, Endpoint]
) -> None:
    rng = random.Random(SEED)
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as system:
        sub_ids = {
            name: system.subscriptions.create(
                name=name,
                url=endpoints[name].url_for(f"/{name}"),
                max_events=7,
                flush_interval="0",
                retry_schedule="1s,1s,1s,1s,1s",
                timeout="5s",
                **scope,
            ).subscription.id
            for name, scope in SUBSCRIPTIONS.items()
        }

    events: list[dict[str, Any]] = []
    plan = []
    while len(events) < 2400:
        call = [random_event(len(events) + i, rng) for i in range(rng.randint(1, 25))]
        events += call
        plan.append((rng.uniform(0.01, 0.05), call))
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    expected = {name: [e["id"] for e in events if matches(name, e)] for name in SUBSCRIPTIONS}

    runner = Runner(command, db, tmp_path / "run.log")
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(db), str(tmp_path / "plan.json")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    started = time.monotonic()
    kills = []
    try:
        runner.start()
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.0))
            runner.kill()
            kills.append(round(time.monotonic() - started, 1))
            runner.start()
        out, err = publisher.communicate(timeout=60)
        assert publisher.returncode == 0 and out.startswith(b"done "), err.decode()

        def delivered() -> bool:
            for name, server in endpoints.items():
                got = {o["id"] for r in server.requests for o in objects(r, terminated=True)}
                if not got >= set(expected[name]):
                    return False
            return True

        wait_until(delivered, "every event at every matching endpoint", DEADLINE, POLL)
        with WebhookSystem(db, deliver=False) as reader:
            # SIGTERM is handled from then
            wait_until(reader.running, "the last `run` up", 10, POLL)
            wait_until(
                lambda: (
                    not any(
                        reader.deliveries.list(status=status) for status in ("pending", "retrying")
                    )
                ),
                "every delivery recorded as settled",
                10,
                POLL,
            )
            history = {
                name: reader.deliveries.list(subscription_id=sub_id, limit=100_000)
                for name, sub_id in sub_ids.items()
            }
        assert runner.stop() == 0, (tmp_path / "run.log").read_text()
    finally:
        runner.cleanup()
        if publisher.poll() is None:
            publisher.kill()
            publisher.wait()

    sequence_of = {}
    store = Store(db)
    try:
        assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for record in store.log.read():
            sequence_of[record.id] = record.sequence
    finally:
        store.close()
    assert [sequence_of[e["id"]] for e in events] == sorted(sequence_of[e["id"]] for e in events)

    resent_batches = 0
    for name, server in endpoints.items():
        requests = server.requests
        bodies: dict[str, set[bytes]] = defaultdict(set)
        batches_of: dict[str, set[str]] = defaultdict(set)
        first_receipt: list[str] = []
        for request in requests:
            webhook_id = request.headers["webhook-id"]
            bodies[webhook_id].add(request.body)
            batch = objects(request, terminated=True)
            assert 1 <= len(batch) <= 7
            for obj in batch:
                if obj["id"] not in batches_of:
                    first_receipt.append(obj["id"])
                batches_of[obj["id"]].add(webhook_id)
                assert obj["sequence"] == sequence_of[obj["id"]]
            assert [o["sequence"] for o in batch] == sorted(o["sequence"] for o in batch)
        # Every matching event, nothing else, first received in log order.
        assert first_receipt == expected[name], name
        # A duplicate is a whole batch again: same webhook-id, byte-identical body; an event is
        # never in two batches.
        assert all(len(b) == 1 for b in bodies.values()), name
        assert all(len(ids) == 1 for ids in batches_of.values()), name
        # Every sealed batch went out and is recorded as succeeded.
        assert {d.id for d in history[name]} == set(bodies), name
        assert {d.status for d in history[name]} == {"succeeded"}, name
        resent_batches += len(requests) - len(bodies)
    print(
        f"kills at {kills} s; publisher done after {out.split()[1].decode()} s;"
        f" {len(events)} events; {resent_batches} batches re-sent"
    )


# A published call of many events, killed while it writes: all of it is in the log, or none.

BULK = 50_000
SCOPE = {"context": "ctx_a", "organization": "org_1"}  # of the bulk publish and what surrounds it


def bulk_input() -> bytes:
    return b"".join(
        json.dumps(event(f"bulk-{i}", **SCOPE, session_id=f"ses_{i}")).encode()
        + b"\n"
        for i in range(BULK)
    )  # fmt: skip


def wal_size(db: Path) -> int:
    try:
        return os.path.getsize(f"{db}-wal")
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize(
    "when",
    ["wal-growing", "wal-growing-later", "random-delay-1", "random-delay-2"],
)
def test_publish_killed_mid_call_leaves_all_of_its_events_or_none(
    tmp_path: Path, command: str, when: str
) -> None:
    rng = random.Random(f"{SEED}-{when}")
    db = tmp_path / "hooks.db"
    with WebhookSystem(db, deliver=False) as system:
        before = system.publish([event(f"seed-{i}", **SCOPE) for i in range(10)])
    data = bulk_input()

    publish = subprocess.Popen(
        [command, "--db", str(db), "publish", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert publish.stdin is not None
    publish.stdin.write(data)
    publish.stdin.close()
    if when.startswith("wal-growing"):
        start = wal_size(db)
        threshold = start + (256 * 1024 if when == "wal-growing" else 4 * 1024 * 1024)
        wait_until(
            lambda: wal_size(db) > threshold or publish.poll() is not None,
            "the -wal to grow",
            20,
            POLL,
        )
        time.sleep(rng.uniform(0, 0.02))
    else:
        time.sleep(rng.uniform(0.2, 1.2))
    publish.send_signal(signal.SIGKILL)
    publish.wait(timeout=10)
    finished = publish.returncode == 0

    store = Store(db)
    try:
        conn = store.db.conn
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        records = list(store.log.read())
        bulk = [r for r in records if r.id.startswith("bulk-")]
        assert len(bulk) in (0, BULK), f"a partial write: {len(bulk)} of {BULK}"
        assert [r.id for r in records[:10]] == [f"seed-{i}" for i in range(10)]
        assert [r.sequence for r in records] == sorted({r.sequence for r in records})
        if bulk:
            assert [r.id for r in bulk] == [f"bulk-{i}" for i in range(BULK)]
            assert json.loads(bulk[-1].delivered())["session_id"] == f"ses_{BULK - 1}"
        assert finished <= bool(bulk)  # an acknowledged call is all there
    finally:
        store.close()

    # The log takes the next call as usual, at a sequence never used before.
    with WebhookSystem(db, deliver=False) as system:
        after = system.publish(event("after", **SCOPE))
        assert (after.first_sequence or 0) > (before.last_sequence or 0) + len(bulk)
        assert sum(1 for _ in system.replay()) == 10 + len(bulk) + 1
    print(f"{when}: killed={not finished} events kept={len(bulk)}")
