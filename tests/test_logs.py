"""The running system's log lines: one per attempt, seal, change of health and retention run, in
text or JSON, and none at all with --quiet. A running WebhookSystem on a ManualClock, real
endpoints on 127.0.0.1, the lines captured from the same handler `run` puts on stderr."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from signin_webhooks.cli import logs
from signin_webhooks.eventstore.deliveries import AttemptRecorded, BatchSealed
from tests.endpoint import Reply
from tests.helpers import event, facts, subscribe, wait_for_facts, wait_until


class Captured:
    def __init__(self, log_format: str, quiet: bool = False) -> None:
        self.stream = io.StringIO()
        self.log = logs.RunLog(log_format, quiet, self.stream)
        self.log.open()

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def objects(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [line for line in self.objects() if line["event"] == name]


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[Captured]:
    found = Captured(*getattr(request, "param", ("json",)))
    yield found
    found.log.close()


def test_a_run_with_failures_logs_every_attempt_seal_and_change_of_health(
    captured, system, endpoints, clock
):
    failing, fine = endpoints(Reply(503)), endpoints()
    broken = subscribe(
        system, failing, max_events=1, retry_schedule="1m", auto_disable_after="1m"
    ).subscription.id
    healthy = subscribe(system, fine, max_events=1, context="ctx_hall").subscription.id
    system.publish([event("e1"), event("h1", context="ctx_hall")])
    wait_for_facts(system, AttemptRecorded, broken, 1)
    clock.advance(minutes=1)
    wait_for_facts(system, AttemptRecorded, broken, 2)
    wait_until(lambda: captured.events("disabled"), "the disable logged")

    attempts = facts(system, AttemptRecorded)
    wait_until(lambda: len(captured.events("attempt")) == len(attempts), "every attempt logged")
    logged = {(a["delivery"], a["attempt"]): a for a in captured.events("attempt")}
    for attempt in attempts:
        line = logged[(attempt.batch_id, attempt.attempt)]
        assert line["subscription"] == attempt.subscription_id
        assert line["result"] == (attempt.error_kind or "ok")
        assert (line["status"], line["outcome"]) == (attempt.status, attempt.outcome)
        assert re.fullmatch(r"[0-9hms]+|0", line["duration"])
    assert {a["result"] for a in logged.values()} == {"ok", "http_status"}
    seals = {(s["delivery"], s["subscription"], s["events"]) for s in captured.events("seal")}
    assert seals == {(s.batch_id, s.subscription_id, s.count) for s in facts(system, BatchSealed)}
    (failing_line,) = captured.events("failing")
    assert failing_line["subscription"] == broken
    assert failing_line["reason"].endswith("attempt 1: HTTP 503")
    (disabled,) = captured.events("disabled")
    assert (disabled["subscription"], disabled["automatic"]) == (broken, True)
    assert "auto_disable_after 1m" in disabled["reason"]
    assert [line["subscription"] for line in captured.events("attempt")].count(healthy) == 1
    (retention,) = captured.events("retention")  # the running system's, as it started
    assert retention["expired_deliveries"] == 0
    assert all(
        line["level"] == "info" and line["time"].endswith("Z") for line in captured.objects()
    )


@pytest.mark.parametrize("captured", [("text",)], indirect=True)
def test_text_lines_are_the_event_and_its_fields_one_line_each(captured, system, endpoints):
    sub_id = subscribe(system, endpoints(Reply(500)), max_events=1).subscription.id
    system.publish(event("e1"))
    wait_until(lambda: any(" failing " in line for line in captured.lines()), "failing logged")
    attempt = next(line for line in captured.lines() if " attempt " in line)
    assert re.fullmatch(
        r"\S+Z info attempt delivery=dlv_\S+ subscription=" + sub_id + r" attempt=1"
        r" trigger=schedule result=http_status status=500 duration=\S+ outcome=retrying"
        r" next_attempt_at=\S+Z",
        attempt,
    )
    failing = next(line for line in captured.lines() if " failing " in line)
    assert failing.endswith(
        ' reason="' + attempt.split()[3].removeprefix("delivery=") + ' attempt 1: HTTP 500"'
    )


@pytest.mark.parametrize("captured", [("text", True)], indirect=True)
def test_quiet_logs_no_attempt(captured, system, endpoints):
    endpoint = endpoints()
    sub_id = subscribe(system, endpoint, max_events=1).subscription.id
    system.publish(event("e1"))
    wait_for_facts(system, AttemptRecorded, sub_id, 1)
    system.stop()
    assert captured.lines() == []
