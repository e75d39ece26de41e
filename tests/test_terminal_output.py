"""What reaches an operator's terminal: control characters from an endpoint, an event or an
operator escaped, never raw; JSON exact; long bodies cut on a terminal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.endpoint import Reply
from tests.helpers import event, invoke

HOSTILE = "\x1b]0;owned\x07\x1b[2J\r\nHTTP 200 -> succeeded\x9b31m"
ESCAPED = "\\x1b]0;owned\\x07\\x1b[2J\\r\\nHTTP 200 -> succeeded\\x9b31m"


def cli(db: Path, *args: str, input: str | None = None) -> Any:
    return invoke("--db", str(db), "--allow-private-networks", *args, input=input)


def raw_controls(text: str) -> set[str]:
    return {c for c in text if (ord(c) < 32 and c != "\n") or 0x7F <= ord(c) <= 0x9F}


@pytest.fixture
def tested(tmp_path: Path, endpoints: Any) -> tuple[Path, str, Any]:
    """A subscription whose endpoint answers with terminal escapes in a header and the body,
    tested once: the database, the delivery's id, and `subscriptions test`'s result."""
    db = tmp_path / "hooks.db"
    endpoint = endpoints(
        Reply(200, headers={"X-Note": HOSTILE.replace("\r\n", " ")}, body=HOSTILE.encode())
    )
    created = cli(db, "subscriptions", "create", "--name", "n", "--context", "ctx_lobby",
                  "--url", endpoint.url_for("/hook"), "--json")  # fmt: skip
    sub_id = json.loads(created.stdout)["id"]
    result = cli(db, "subscriptions", "test", sub_id)
    delivery_id = json.loads(cli(db, "deliveries", "list", "--json").stdout)[0]["id"]
    return db, delivery_id, result


def test_subscriptions_test_escapes_what_the_endpoint_answered(tested) -> None:
    _, _, result = tested
    assert result.exit_code == 0, result.stderr
    assert raw_controls(result.stdout) == set()
    assert f"response_body: {ESCAPED}" in result.stdout.splitlines()


def test_deliveries_show_escapes_headers_and_body_and_json_stays_exact(tested) -> None:
    db, delivery_id, _ = tested
    shown = cli(db, "deliveries", "show", delivery_id)
    assert shown.exit_code == 0, shown.stderr
    assert raw_controls(shown.stdout) == set()
    lines = shown.stdout.splitlines()
    assert f"  < {ESCAPED}" in lines
    [at] = [i for i, line in enumerate(lines) if line.startswith("attempt 1 (test) at ")]
    assert lines[at - 1] == ""  # a blank line before each attempt, not an escaped one
    assert not any(line.startswith("HTTP 200") for line in lines)
    (attempt,) = json.loads(cli(db, "deliveries", "show", delivery_id, "--json").stdout)["attempts"]
    assert attempt["response_body"] == HOSTILE


def test_a_description_with_a_newline_cannot_forge_a_line_of_show(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    forged = "CRM\nsecrets: whsec_forged"
    created = cli(db, "subscriptions", "create", "--name", "n", "--context", "c",
                  "--url", "http://127.0.0.1:9/", "--description", forged, "--json")  # fmt: skip
    sub_id = json.loads(created.stdout)["id"]
    shown = cli(db, "subscriptions", "show", sub_id).stdout
    as_json = json.loads(cli(db, "subscriptions", "show", sub_id, "--json").stdout)
    assert "description: CRM\\nsecrets: whsec_forged" in shown.splitlines()
    assert [line for line in shown.splitlines() if line.startswith("secrets:")] == [
        f"secrets: #{as_json['secrets'][0]['number']} [redacted]"
    ]
    assert as_json["description"] == forged


def test_an_event_type_echoed_in_a_publish_error_is_escaped(tmp_path: Path) -> None:
    bad = json.dumps({**event("e1"), "type": "signin.\x1b[2Jnope"})
    result = cli(tmp_path / "hooks.db", "publish", input=bad)
    assert result.exit_code == 2
    assert raw_controls(result.stderr) == set()
    assert "\\x1b[2J" in result.stderr


def big_delivery(tmp_path: Path, endpoints: Any) -> tuple[Path, str]:
    """A delivered NDJSON batch of 100 events, one line each."""
    db = tmp_path / "hooks.db"
    endpoint = endpoints(Reply(200))
    with WebhookSystem(db, allow_private_networks=True) as system:
        system.subscriptions.create(
            name="n", url=endpoint.url_for("/hook"), context="ctx_lobby",
            content_type="application/x-ndjson", max_events=100,
        )  # fmt: skip
        system.publish([event(f"e{i}") for i in range(100)])
        endpoint.wait_for(1)
        (delivery,) = system.deliveries.list()
    return db, delivery.id


def on_a_terminal(command: str, *args: str) -> str:
    """The output of the installed command run on a pseudo-terminal."""
    leader, follower = pty.openpty()
    done = subprocess.Popen([command, *args], stdout=follower, stderr=follower,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command exited
            break
        if not chunk:
            break
        out += chunk
    done.wait(timeout=60)
    os.close(leader)
    return out.decode().replace("\r\n", "\n")


def test_deliveries_show_cuts_a_long_body_on_a_terminal_unless_full(
    tmp_path: Path, endpoints: Any, command: str
) -> None:
    db, delivery_id = big_delivery(tmp_path, endpoints)
    cut = on_a_terminal(command, "--db", str(db), "deliveries", "show", delivery_id)
    body = cut.split("\nbody sent:\n", 1)[1].splitlines()
    assert 2 <= len(body) <= 21 and body[0].startswith('{"id":"e0"')
    assert len("\n".join(body[:-1])) <= 4000
    assert body[-1].startswith("... ") and body[-1].endswith("--full prints the whole body")
    full = on_a_terminal(command, "--db", str(db), "deliveries", "show", delivery_id, "--full")
    assert len(full.split("\nbody sent:\n", 1)[1].splitlines()) == 100
    piped = cli(db, "deliveries", "show", delivery_id).stdout
    assert len(piped.split("\nbody sent:\n", 1)[1].splitlines()) == 100


def test_deliveries_show_no_body_leaves_the_body_out(tmp_path: Path, endpoints: Any) -> None:
    db, delivery_id = big_delivery(tmp_path, endpoints)
    shown = cli(db, "deliveries", "show", delivery_id, "--no-body")
    assert shown.exit_code == 0 and "body sent" not in shown.stdout and "e99" not in shown.stdout
    as_json = json.loads(cli(db, "deliveries", "show", delivery_id, "--no-body", "--json").stdout)
    assert "body" not in as_json and as_json["attempts"]
