"""What a run logs never holds a secret or a header value."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.endpoint import Endpoint, Reply, closed_port_url
from tests.helpers import wait_until
from tests.hostile_input import PRIMER, cli

HOSTILE_HEADER_VALUES = [
    "Bearer t0k3n-of-the-crm",
    'quoted "value" = with spaces',
    '{"json": ["inside", 1]}',
    "back\\slash\\es",
    "l\xe4t\xedn-1-s\xebcret",
    "%s %d {} ${HOME} $(id)",
    "\t tab-led",
]


def written_forms(value: str) -> set[str]:
    """A value as it is, and as a JSON or a quoted text log line would spell it."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_logs_of_a_run_with_failures_name_every_attempt_and_no_secret_or_header_value(
    tmp_path: Path, command: str, log_format: str
) -> None:
    db = tmp_path / "hooks.db"
    secrets_given: list[str] = []
    with contextlib.ExitStack() as stack:
        failing = stack.enter_context(Endpoint(Reply(500, {"X-Echo": "a"}, b"no")))
        moved = stack.enter_context(Endpoint(Reply(302, {"Location": "http://127.0.0.1:9/"})))
        gone = stack.enter_context(Endpoint(Reply(410)))
        fine = stack.enter_context(Endpoint())
        urls = [e.url_for("/hook?token=in-the-query") for e in (failing, moved, gone, fine)]
        for n, url in enumerate([*urls, closed_port_url()]):
            headers = [f"X-Key-{i}: {v}" for i, v in enumerate(HOSTILE_HEADER_VALUES)]
            created = json.loads(cli(
                db, "--allow-private-networks", "subscriptions", "create", "--json",
                "--name", f"hostile {n}", "--url", url, "--context", "ctx_lobby",
                "--max-events", "1", "--flush-interval", "0", "--retry-schedule", "1h",
                *[arg for h in headers for arg in ("--header", h)],
            ).stdout)  # fmt: skip
            rotated = json.loads(
                cli(db, "subscriptions", "rotate-secret", created["id"], "--json").stdout
            )
            secrets_given += [created["secret"], rotated["secret"]]
        cli(db, "publish", "-", input=json.dumps(PRIMER | {"context_id": "ctx_lobby"}).encode())
        process = subprocess.Popen(
            [command, "--db", str(db), "--allow-private-networks", "run", "--log-format",
             log_format],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            with WebhookSystem(db, deliver=False) as reader:

                def attempted() -> list[Any] | None:
                    found = [
                        a for d in reader.deliveries.list() for a in reader.deliveries.get(d.id)[1]
                    ]
                    return found if len(found) == 5 else None

                attempts = wait_until(attempted, "one attempt per subscription", timeout=30)
        finally:
            process.send_signal(signal.SIGTERM)
            _, log = process.communicate(timeout=60)
    assert process.returncode == 0, log
    assert {a.error_kind for a in attempts} == {
        None, "http_status", "redirect", "connection_refused"
    }  # fmt: skip
    for attempt in attempts:
        assert f"{attempt.batch_id}" in log and "attempt" in log
    if log_format == "json":
        lines = [json.loads(line) for line in log.splitlines()]
        logged = {(x["delivery"], x["attempt"]) for x in lines if x["event"] == "attempt"}
        assert logged == {(a.batch_id, a.attempt) for a in attempts}
    forbidden = {form for v in HOSTILE_HEADER_VALUES for form in written_forms(v.strip())}
    forbidden |= {s for secret in secrets_given for s in (secret, secret.removeprefix("whsec_"))}
    forbidden.add("in-the-query")
    assert [f for f in forbidden if f in log] == []
