"""`signin-webhooks run` as a real process: killed with SIGKILL in the middle of delivery and
restarted, it delivers every event at least once, in order, re-sending an interrupted batch under
its webhook-id with the same body; one `run` per database; SIGTERM and SIGINT stop it cleanly."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import signal
import subprocess
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from signin_webhooks.actors import WebhookSystem
from tests.endpoint import Endpoint, Hang, Received, Reply, Trickle
from tests.helpers import event, objects, subscribe, wait_until

STARTED = "delivering from"
RETENTION_RAN = " info retention "
DEADLINE = 60.0  # seconds for what should take one or two


class Runner:
    """One `run` process, its stderr kept in a file the test can read at any time."""

    def __init__(self, command: str, db: Path, stderr: Path, *options: str) -> None:
        self.stderr_path = stderr
        with stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [command, "--db", str(db), "--allow-private-networks", "run", *options],
                stdout=subprocess.DEVNULL,
                stderr=err,
                cwd=db.parent,
            )
        self.pid = self.process.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def wait_started(self) -> Runner:
        wait_until(
            lambda: STARTED in self.stderr or self.process.poll() is not None,
            "`run` to start",
            DEADLINE,
        )
        assert self.process.poll() is None, f"`run` exited {self.process.returncode}: {self.stderr}"
        return self

    def metric(self, name: str) -> float:
        """One sample of what the process reports at its `--metrics-port` (started with it)."""
        shown = r"metrics at (http://\S+)"
        found = wait_until(lambda: re.search(shown, self.stderr), "the metrics' address", DEADLINE)
        with urllib.request.urlopen(found[1], timeout=10) as answer:
            text = answer.read().decode()
        families = text_string_to_metric_families(text)
        return next(s.value for f in families for s in f.samples if s.name == name)

    def kill(self) -> None:
        self.process.kill()
        assert self.process.wait(timeout=10) == -signal.SIGKILL

    def stop(self, signum: int = signal.SIGTERM) -> int:
        """Send `signum`; the exit status."""
        self.process.send_signal(signum)
        return self.process.wait(timeout=DEADLINE)


@pytest.fixture
def runners(tmp_path: Path, command: str) -> Iterator[Callable[..., Runner]]:
    """Starts `run OPTIONS` on tmp_path/hooks.db, as often as asked; kills whatever is left
    after."""
    started: list[Runner] = []

    def start(*options: str) -> Runner:
        err = tmp_path / f"run-{len(started)}.err"
        runner = Runner(command, tmp_path / "hooks.db", err, *options)
        started.append(runner)
        return runner.wait_started()

    yield start
    for runner in started:
        if runner.process.poll() is None:
            runner.process.kill()
            runner.process.wait()


def publish(command: str, db: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    """Publish from a process of its own, as an operator would."""
    done = subprocess.run(
        [command, "--db", str(db), "publish", "--json"],
        input="\n".join(json.dumps(e) for e in events).encode(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    report = json.loads(done.stdout)
    assert report["appended"] == len(events)
    return report


def subscribed(db: Path, url: str, **fields: Any) -> str:
    """A subscription created without running anything; its secret."""
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as system:
        secret = subscribe(system, url, name="a subscription", **fields).secret
    assert secret is not None
    return secret


def internal_events(db: Path) -> list[dict[str, Any]]:
    """The system's own facts in the log, as `replay --all` shows them."""
    with WebhookSystem(db, deliver=False) as system:
        return [json.loads(r.replayed()) for r in system.replay(internal=True) if r.internal]


def assert_signed(request: Received, secret: str) -> None:
    """Standard Webhooks, checked with the standard library alone."""
    signed = b".".join([
        request.headers["webhook-id"].encode(), request.headers["webhook-timestamp"].encode(),
        request.body,
    ])  # fmt: skip
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in request.headers["webhook-signature"].split()


def mixed(n: int) -> dict[str, Any]:
    """The n-th event of the test: contexts, organizations and types in a fixed mix."""
    context, organization = [
        ("ctx-a", "org-1"), ("ctx-a", "org-1"), ("ctx-b", "org-1"), ("ctx-z", "org-2"),
    ][n % 4]  # fmt: skip
    type = {0: "signin.dhcp.granted", 1: "signin.arenasession.login"}.get(
        n % 5, "signin.session.created"
    )
    return event(f"evt-{n:04d}", type, context=context, organization=organization)


def test_a_runner_killed_mid_delivery_resumes_and_delivers_every_event_at_least_once(
    tmp_path, command, runners
):
    db = tmp_path / "hooks.db"
    calls = [[mixed(n) for n in range(start, start + 100)] for start in range(0, 400, 100)]
    with (
        Endpoint(Reply(200)) as to_context,
        Endpoint(Trickle(Reply(200, body=b"ok"), delay=0.002)) as to_organization,
        Endpoint(Reply(200)) as to_filtered,
    ):
        # Three batches go through, then the fourth hangs: the runner is killed while it waits.
        to_context.respond(Reply(200), Reply(200), Reply(200), Hang())
        subscriptions = {
            "context": (to_context, 10, lambda e: e["context_id"] == "ctx-a"),
            "organization": (
                to_organization, 7,
                lambda e: e["organization_id"] == "org-1"
                and e["type"].startswith(("signin.dhcp.", "signin.arenasession.")),
            ),
            "filtered": (
                to_filtered, 10,
                lambda e: e["context_id"] == "ctx-b" and e["type"] == "signin.session.created",
            ),
        }  # fmt: skip
        secrets = {
            "context": subscribed(
                db, to_context.url_for(), context="ctx-a", max_events=10, flush_interval="0"
            ),
            "organization": subscribed(
                db, to_organization.url_for(), organization="org-1", max_events=7,
                flush_interval="0", content_type="application/x-ndjson",
                events=["signin.dhcp.*", "signin.arenasession.*"],
            ),
            "filtered": subscribed(
                db, to_filtered.url_for(), context="ctx-b", max_events=10, flush_interval="0",
                events=["signin.session.created"],
            ),
        }  # fmt: skip

        first = runners()
        publish(command, db, calls[0])
        publish(command, db, calls[1])
        to_context.wait_for(4, timeout=DEADLINE)
        publish(command, db, calls[2])
        first.kill()
        assert len(to_context.requests) == 4  # in the middle: 30 of its 200 events acknowledged
        publish(command, db, calls[3])  # while nothing runs

        with WebhookSystem(db, deliver=False) as system:
            log = [json.loads(r.delivered()) for r in system.replay()]
        assert [e["id"] for e in log] == [e["id"] for call in calls for e in call]
        expected = {
            name: [e["id"] for e in log if matches(e)]
            for name, (_, _, matches) in subscriptions.items()
        }

        def received_all() -> bool:
            return all(
                set(expected[name])
                <= {e["id"] for r in ep.requests for e in objects(r, terminated=True)}
                for name, (ep, _, _) in subscriptions.items()
            )

        second = runners()
        wait_until(received_all, "every event at its endpoint", DEADLINE)
        assert second.stop(signal.SIGTERM) == 0

    sequence_of = {e["id"]: e["sequence"] for e in log}
    resent = []
    for name, (endpoint, max_events, _) in subscriptions.items():
        requests = endpoint.requests
        first_receipt: list[str] = []
        seen: set[str] = set()
        batch_of: dict[str, str] = {}
        body_of: dict[str, bytes] = {}
        for request in requests:
            assert_signed(request, secrets[name])
            webhook_id = request.headers["webhook-id"]
            events = objects(request, terminated=True)
            assert 1 <= len(events) <= max_events
            if webhook_id in body_of:  # a batch sent again: the same bytes, to the byte
                assert request.body == body_of[webhook_id], name
                resent.append(webhook_id)
                continue
            body_of[webhook_id] = request.body
            for one in events:
                assert batch_of.setdefault(one["id"], webhook_id) == webhook_id, (
                    f"{name}: {one['id']} arrived in two batches"
                )
                if one["id"] not in seen:
                    seen.add(one["id"])
                    first_receipt.append(one["id"])
        # Exactly its events, each at least once, first received in log order.
        assert first_receipt == expected[name], name
        assert [sequence_of[i] for i in first_receipt] == sorted(
            sequence_of[i] for i in first_receipt
        )
    # The batch the first runner was waiting on went again, under its own id.
    hung = to_context.requests[3].headers["webhook-id"]
    assert hung in resent
    # And the log knows each batch that arrived as delivered.
    attempts = [e for e in internal_events(db) if e["type"] == "attempt.recorded"]
    assert {a["batch_id"] for a in attempts if a["outcome"] == "succeeded"} == {
        r.headers["webhook-id"] for ep, _, _ in subscriptions.values() for r in ep.requests
    }
    assert "Traceback" not in second.stderr, second.stderr


def test_a_second_run_refuses_naming_the_holder_and_a_crash_releases_the_hold(
    tmp_path, command, runners
):
    db = tmp_path / "hooks.db"
    holder = runners()
    refused = subprocess.run(
        [command, "--db", str(db), "--allow-private-networks", "run"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and f"pid {holder.pid}" in lines[0], refused.stderr

    holder.kill()
    after_crash = runners()  # the hold went with the process
    assert after_crash.stop(signal.SIGTERM) == 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_run_exits_0_on_sigterm_and_sigint_without_waiting_for_its_timers(runners, signum):
    runner = runners()
    # Retention has run, and its next run is due in 10 minutes: `stop` waits far less for the
    # process (DEADLINE), so an exit that waited for it, or any later timer, fails here.
    wait_until(lambda: RETENTION_RAN in runner.stderr, "the first retention run", DEADLINE)
    assert runner.stop(signum) == 0, runner.stderr
    assert runner.stderr.count(RETENTION_RAN) == 1, runner.stderr
    assert "stopping: attempts in flight finish first" in runner.stderr, runner.stderr
    assert "Traceback" not in runner.stderr, runner.stderr


def test_run_stops_once_the_attempts_in_flight_time_out_and_starts_no_new_one(
    tmp_path, command, runners
):
    db = tmp_path / "hooks.db"
    with Endpoint(Hang()) as hanging:
        for n in range(20):  # on one host, 4 connections at a time (the default): 16 wait
            subscribed(db, hanging.url_for(), context=f"ctx-{n}", flush_interval="0", timeout="5s")
        runner = runners("--metrics-port", "0")
        publish(command, db, [{**mixed(0), "id": f"e{n}", "context_id": f"ctx-{n}"}
                              for n in range(20)])  # fmt: skip
        hanging.wait_for(4, timeout=DEADLINE)

        # Every subscription's attempt is under way, as the process reports: some in delivery
        # actors waiting for a connection, the rest waiting their turn in the pool, and the
        # endpoint has had only the first 4.
        def under_way() -> float:
            in_actors = runner.metric("signin_webhooks_delivery_pool_in_use")
            return in_actors + runner.metric("signin_webhooks_delivery_pool_waiting")

        wait_until(lambda: under_way() == 20, "20 attempts under way", DEADLINE)
        assert len(hanging.requests) == 4
        code = runner.stop(signal.SIGTERM)
        # What waited stays pending for the next start: one round of 4, not 5 rounds of 4.
        assert len(hanging.requests) == 4 and hanging.connections == 4
    assert code == 0, runner.stderr
    assert "Traceback" not in runner.stderr, runner.stderr
    # The 4 in flight ran to their deadline and were recorded before the process exited; the 16
    # waiting were let go unrecorded, not left to time out waiting for a connection.
    attempts = [e for e in internal_events(db) if e["type"] == "attempt.recorded"]
    assert [(a["error_kind"], a["outcome"]) for a in attempts] == [("timeout", "retrying")] * 4
    assert {a["error"] for a in attempts} == {"no complete response from 127.0.0.1 within 5 s"}


def test_a_retry_due_at_its_recorded_time_survives_a_restart(tmp_path, command, runners):
    db = tmp_path / "hooks.db"
    with Endpoint(Reply(200)) as endpoint:
        endpoint.respond(Reply(500))
        subscribed(db, endpoint.url_for(), context="ctx-a", flush_interval="0", retry_schedule="2s")
        first = runners()
        publish(command, db, [mixed(0)])
        failed = endpoint.wait_for(1, timeout=DEADLINE)[0]

        retrying: list[dict[str, Any]] = []

        def recorded() -> bool:
            retrying[:] = [e for e in internal_events(db) if e["type"] == "attempt.recorded"]
            return bool(retrying)

        wait_until(recorded, "the failed attempt in the log", DEADLINE)
        first.kill()
        assert (retrying[0]["outcome"], retrying[0]["status"]) == ("retrying", 500)
        assert retrying[0]["next_attempt_at"] is not None

        second = runners()
        retried = endpoint.wait_for(2, timeout=DEADLINE)[1]
        assert second.stop(signal.SIGTERM) == 0

    assert len(endpoint.requests) == 2
    assert retried.headers["webhook-id"] == failed.headers["webhook-id"]
    assert retried.body == failed.body
    # At its recorded time (2 s after the failure), not at once on restart.
    assert retried.received_at - failed.received_at >= 1.9
    attempts = [e for e in internal_events(db) if e["type"] == "attempt.recorded"]
    assert [(a["attempt"], a["status"], a["outcome"]) for a in attempts] == [
        (1, 500, "retrying"),
        (2, 200, "succeeded"),
    ]
    by_delivery = defaultdict(set)
    for a in attempts:
        by_delivery[a["batch_id"]].add(a["attempt"])
    assert list(by_delivery) == [failed.headers["webhook-id"]]
