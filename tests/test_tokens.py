"""`tokens create|list|revoke` and bearer authentication: secrets shown once and kept only as
a hash, revoked and expired tokens refused, refusals logged without the token."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from signin_webhooks.actors import ManualClock, WebhookSystem
from tests.api_server import ApiServer
from tests.helpers import invoke, one_error_line


def test_a_token_is_shown_once_and_the_log_keeps_only_its_hash(db) -> None:
    made = invoke("--db", str(db), "tokens", "create", "--context", "ctx_lobby", "--organization",
                  "org_acme", "--name", "lobby", "--read-only", "--json")  # fmt: skip
    shown = json.loads(made.stdout)
    listed = json.loads(invoke("--db", str(db), "tokens", "list", "--json").stdout)
    log = invoke("--db", str(db), "replay", "--all").stdout
    raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    assert made.exit_code == 0
    assert shown["token"].startswith(f"swt_{shown['id']}_")
    assert listed == [{k: v for k, v in shown.items() if k != "token"}]
    assert listed[0]["scope"] == "context" and listed[0]["read_only"] is True
    assert "token.created" in log and shown["token"] not in log
    assert shown["token"].encode() not in raw


def test_create_refuses_an_unclear_scope_in_one_line(db) -> None:
    none = invoke("--db", str(db), "tokens", "create")
    org_and_admin = invoke("--db", str(db), "tokens", "create", "--scope", "admin",
                           "--organization", "o")  # fmt: skip
    bad_expiry = invoke("--db", str(db), "tokens", "create", "--scope", "admin", "--expires", "x")
    assert none.exit_code == 2
    assert one_error_line(none.stderr) == "give --scope admin, --organization ID or --context ID"
    assert org_and_admin.exit_code == 2
    assert bad_expiry.exit_code == 2 and "--expires" in one_error_line(bad_expiry.stderr)


def test_a_context_cannot_be_recorded_in_two_organizations(db) -> None:
    invoke("--db", str(db), "tokens", "create", "--context", "c1", "--organization", "o1")
    second = invoke("--db", str(db), "tokens", "create", "--context", "c1", "--organization", "o2")
    assert second.exit_code == 1
    assert one_error_line(second.stderr) == (
        "context 'c1' is in organization 'o1', not 'o2'; give --organization o1"
    )


def test_revoked_expired_unknown_and_malformed_tokens_are_refused_with_401(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))
    with WebhookSystem(tmp_path / "hooks.db", clock=clock, deliver=False) as system:
        _, good_secret = system.tokens.create(scope="admin")
        revoked, revoked_secret = system.tokens.create(scope="admin")
        _, expiring_secret = system.tokens.create(scope="admin", expires="1h")
        invoke("--db", str(system.path), "tokens", "revoke", revoked.id)
        clock.advance(hours=2)
        server = ApiServer(system).start()
        caplog.set_level(logging.WARNING, logger="signin_webhooks.api")
        try:
            answers = {}
            for name, token in {
                "good": good_secret,
                "revoked": revoked_secret,
                "expired": expiring_secret,
                "altered": good_secret[:-1] + ("A" if good_secret[-1] != "A" else "B"),
                "unknown": "swt_tok_0000000000000000_" + "x" * 43,
                "garbage": "hello",
            }.items():
                with server.client(token) as http:
                    answers[name] = http.get("/catalogue")
            with server.client() as http:
                answers["none"] = http.get("/catalogue")
                answers["basic"] = http.get("/catalogue", headers={"Authorization": "Basic eA=="})
        finally:
            server.stop()
    assert answers.pop("good").status_code == 200
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 401)
    assert answers["revoked"].json()["detail"].startswith(f"token {revoked.id} was revoked at")
    assert "expired at" in answers["expired"].json()["detail"]
    assert answers["none"].headers["WWW-Authenticate"].startswith("Bearer")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("refused GET /api/v1/catalogue from 127.0.0.1") == len(answers)
    for secret in (good_secret, revoked_secret, expiring_secret, "hello"):
        assert secret not in logged
