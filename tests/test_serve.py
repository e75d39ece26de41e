"""`signin-webhooks serve` as a process of its own: it serves and delivers, stops on SIGTERM,
loses nothing it acknowledged to a kill -9, and delivers what came over HTTP exactly as what
came from the command line."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess

import httpx

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ServeProcess
from tests.endpoint import Endpoint
from tests.helpers import event, header


def _admin(command: str, db) -> str:
    made = subprocess.run(
        [command, "--db", str(db), "tokens", "create", "--scope", "admin", "--json"],
        capture_output=True,
        check=True,
    )
    return json.loads(made.stdout)["token"]


def test_serve_answers_health_checks_and_stops_on_sigterm(command: str, db) -> None:
    server = ServeProcess(command, db)
    try:
        health = httpx.get(server.url + "/healthz")
        ready = httpx.get(server.url + "/readyz")
        schema = httpx.get(server.url + "/openapi.json")
        docs = httpx.get(server.url + "/docs")
        signin = httpx.get(server.url + "/signin")
    finally:
        code, stderr = server.stop()
    assert health.json() == {"status": "ok", "detail": ""}
    assert ready.status_code == 200
    assert schema.json()["openapi"].startswith("3.1")
    assert "POST /api/v1/events" in docs.text
    assert signin.status_code == 200 and 'name="token"' in signin.text
    assert code == 0
    assert "serving and delivering from" in stderr
    assert "stopping: attempts in flight finish first" in stderr


def test_a_second_delivering_serve_is_refused_and_a_front_end_beside_it_is_not(
    command: str, db
) -> None:
    first = ServeProcess(command, db)
    try:
        second = subprocess.run(
            [command, "--db", str(db), "serve", "--port", "0"], capture_output=True, timeout=60
        )
        front = ServeProcess(command, db, "--no-deliver")
        try:
            ready = httpx.get(front.url + "/readyz")
        finally:
            front.stop()
    finally:
        first.stop()
    assert second.returncode == 1
    assert b"already" in second.stderr.lower() or b"holds" in second.stderr.lower()
    assert len(second.stderr.decode().strip().splitlines()) == 1
    assert ready.status_code == 200


def test_a_kill_9_after_a_2xx_to_post_events_loses_nothing(command: str, db) -> None:
    token = _admin(command, db)
    server = ServeProcess(command, db, "--no-deliver")
    acknowledged: list[str] = []
    with server.client(token) as http:
        for batch in range(20):
            ids = [f"k{batch}-{n}" for n in range(50)]
            answer = http.post("/events", json=[event(i) for i in ids])
            assert answer.status_code == 200
            acknowledged += ids
    server.kill()
    assert server.process.returncode == -9
    with WebhookSystem(db, deliver=False) as system:
        kept = [r.id for r in system.replay()]
    assert kept == acknowledged


def _signed(received, secret: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    stamp = header(received, "webhook-timestamp")
    message = f"{header(received, 'webhook-id')}.{stamp}.".encode() + received.body
    expected = "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    return expected in header(received, "webhook-signature").split(" ")


def test_an_event_published_over_http_is_delivered_as_one_published_from_the_cli(
    command: str, db, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    token = _admin(command, db)
    server = ServeProcess(command, db)
    try:
        with server.client(token) as http:
            sub = http.post("/subscriptions", json={
                "name": "both", "url": endpoint.url_for("/hook"), "context_id": "ctx_lobby",
                "flush_interval": "0s", "max_events": 1})  # fmt: skip
            assert sub.status_code == 201, sub.text
            text = (
                '{"type":"signin.session.created",  "session_id":"ses_1", "extra": {"b":1,"a":2},'
            )
            http_body = text + '"organization_id":"org_acme","context_id":"ctx_lobby","id":"h1"}'
            sent = http.post("/events", content=http_body.encode())
            assert sent.status_code == 200, sent.text
            cli_body = http_body.replace('"id":"h1"', '"id":"c1"')
            subprocess.run([command, "--db", str(db), "publish", "-"], input=cli_body.encode(),
                           check=True, capture_output=True)  # fmt: skip
            over_http, from_cli = sorted(endpoint.wait_for(2, timeout=30), key=lambda r: r.body)[
                ::-1
            ]
    finally:
        server.stop()
    secret = sub.json()["secret"]
    assert _signed(over_http, secret) and _signed(from_cli, secret)
    with WebhookSystem(db, deliver=False) as system:
        records = {r.id: r for r in system.replay()}
    assert over_http.body == b"[" + records["h1"].delivered() + b"]"
    assert from_cli.body == b"[" + records["c1"].delivered() + b"]"
    strip = [json.loads(r.body)[0] for r in (over_http, from_cli)]
    for shown in strip:
        for assigned in ("id", "sequence", "recorded_at", "occurred_at"):
            shown.pop(assigned)
    assert strip[0] == strip[1]
