"""Watching from the command line: `deliveries list --follow` prints deliveries as they happen,
read from the log beside the process that delivers, and `status --watch` redraws; both run
until Ctrl-C, which ends them cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.endpoint import Reply
from tests.helpers import event, installed, one_error_line, subscribe, wait_until


class Watcher:
    """A command in a process of its own, its output lines gathered as they come."""

    def __init__(self, db: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [installed(), "--db", str(db), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.lines)),
            threading.Thread(target=self._read, args=(self.process.stderr, self.errors)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: IO[str] | None, into: list[str]) -> None:
        assert stream is not None
        for line in stream:
            into.append(line.rstrip("\n"))

    def following(self) -> Watcher:
        """Once it has said from where it follows: what happens after that, it prints."""
        wait_until(lambda: any("Ctrl-C stops" in e for e in self.errors), "following", 30)
        return self

    def wait_for(self, what: str, count: int = 1) -> list[str]:
        def found() -> list[str] | None:
            matching = [line for line in self.lines if what in line]
            return matching if len(matching) >= count else None

        return wait_until(found, f"{count} line(s) with {what!r} in {self.lines}", timeout=30)

    def interrupt(self) -> str:
        """Ctrl-C: it ends by itself, cleanly; its stderr."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("it did not stop on SIGINT") from None
        for reader in self._readers:
            reader.join(timeout=5)
        stderr = "\n".join(self.errors)
        assert self.process.returncode in (0, 130), stderr
        assert "Traceback" not in stderr
        return stderr


@pytest.fixture
def watchers(db: Path) -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.process.kill()
            watcher.process.wait()


def test_follow_prints_new_deliveries_and_their_changes_as_they_happen(
    db, clock, endpoints, watchers
):
    endpoint = endpoints()
    endpoint.respond(Reply(500))
    with WebhookSystem(db, clock=clock, allow_private_networks=True) as system:
        sub_id = subscribe(system, endpoint, max_events=1, retry_schedule="1m").subscription.id
        system.publish(event("before"))  # the past: not followed
        endpoint.wait_for(1)
        system.settled()
        follower = Watcher(db, "deliveries", "list", "--follow").following()
        other = Watcher(
            db, "deliveries", "list", "--follow", "--status", "succeeded", "--json"
        ).following()
        watchers.extend([follower, other])
        clock.advance(60)  # the first delivery's retry, while following
        endpoint.wait_for(2)
        (retried,) = follower.wait_for(" succeeded ")
        system.publish(event("after"))
        endpoint.wait_for(3)
        follower.wait_for(" succeeded ", 2)
        sealed = follower.wait_for(" pending ")
        assert "1 events" in sealed[0] and sub_id in sealed[0]
        other.wait_for('"status":"succeeded"', 2)
        assert "Traceback" not in follower.interrupt()
        other.interrupt()

    before, after = system.deliveries.list()[::-1]
    assert before.id in retried and "attempt 2 (schedule): HTTP 200" in retried
    assert after.id in sealed[0]
    assert not any(before.id in line and "attempt 1" in line for line in follower.lines)
    statuses = [json.loads(line)["status"] for line in other.lines]
    assert statuses == ["succeeded", "succeeded"]  # the filter holds: no pending, no retrying


def test_follow_takes_no_window(db):
    WebhookSystem(db, deliver=False).stop()
    done = subprocess.run(
        [installed(), "--db", str(db), "deliveries", "list", "--follow", "--since", "1h"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--since" in one_error_line(done.stderr, done.stdout)


def test_status_watch_redraws_until_interrupted(db, clock, endpoints, watchers):
    endpoint = endpoints(Reply(500))
    with WebhookSystem(db, clock=clock, allow_private_networks=True) as system:
        sub_id = subscribe(system, endpoint, name="crm", max_events=1).subscription.id
        watcher = Watcher(db, "status", "--watch", "--interval", "100ms")
        watchers.append(watcher)
        watcher.wait_for("healthy", 2)  # drawn, and drawn again
        system.publish(event("e1"))
        endpoint.wait_for(1)
        (failing,) = watcher.wait_for(" failing ")[:1]
        assert sub_id in failing
        assert watcher.wait_for("Ctrl-C stops")
        watcher.interrupt()


def test_status_watch_refuses_a_bad_interval(db):
    WebhookSystem(db, deliver=False).stop()
    done = subprocess.run(
        [installed(), "--db", str(db), "status", "--watch", "--interval", "soon"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "--interval" in one_error_line(done.stderr, done.stdout)
