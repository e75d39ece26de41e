"""Idempotency keys hold for `idempotency_window` on the test's clock: a retry inside it gets
the first answer, one after it is carried out anew, and retention drops what ended."""

from __future__ import annotations

from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore.idempotency import IdempotencyKeys
from tests.api_server import ApiServer
from tests.backends import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)

LOBBY = {"name": "Lobby CRM", "url": "https://crm.example.com/hooks", "context_id": "ctx_lobby"}


def test_a_retry_inside_the_window_replays_and_one_after_it_creates_anew(
    api: ApiServer, admin_token: str, clock: ManualClock
) -> None:
    key = {"Idempotency-Key": "lobby-1"}
    with api.client(admin_token) as http:
        first = http.post("/subscriptions", json=LOBBY, headers=key)
        clock.advance(hours=23, minutes=59)
        inside = http.post("/subscriptions", json=LOBBY, headers=key)
        clock.advance(minutes=2)
        after = http.post("/subscriptions", json=LOBBY, headers=key)
        again = http.post("/subscriptions", json=LOBBY, headers=key)
        other = http.post("/subscriptions", json={**LOBBY, "name": "other"}, headers=key)
    assert inside.headers.get("Idempotent-Replayed") == "true"
    assert inside.json()["id"] == first.json()["id"]
    assert after.status_code == 201 and "Idempotent-Replayed" not in after.headers
    assert after.json()["id"] != first.json()["id"]
    assert after.json()["secret"].startswith("whsec_")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["id"] == after.json()["id"]
    assert other.status_code == 409  # the new window binds the key to the new request
    assert len(api.system.subscriptions.list()) == 2


def test_the_window_is_a_setting(api: ApiServer, admin_token: str, clock: ManualClock) -> None:
    api.system.settings.set("idempotency_window", "1h")
    key = {"Idempotency-Key": "lobby-1"}
    with api.client(admin_token) as http:
        first = http.post("/subscriptions", json=LOBBY, headers=key).json()
        clock.advance(minutes=61)
        after = http.post("/subscriptions", json=LOBBY, headers=key).json()
    assert after["id"] != first["id"]


def test_retention_drops_keys_past_the_window_and_the_key_is_claimed_anew(
    database: str, clock: ManualClock
) -> None:
    with WebhookSystem(database, clock=clock, deliver=False) as system:
        requests = system.requests
        assert requests.claim("tok_a", "k", "first") is None
        requests.answer("tok_a", "k", status=201, content_type="application/json", body=b"{}")
        clock.advance(hours=12)
        assert requests.claim("tok_b", "k", "kept") is None  # another caller's key, claimed later
        assert system.retention(dry_run=True).expired_idempotency_keys == 0
        clock.advance(hours=12, seconds=1)
        assert system.retention(dry_run=True).expired_idempotency_keys == 1
        assert requests.claim("tok_b", "k", "kept") is not None  # inside its window still
        assert system.retention().expired_idempotency_keys == 1
        store = system.store
        live = _claims(store.project(IdempotencyKeys()))
        assert requests.claim("tok_a", "k", "second") is None  # the window ended: a new request
        requests.answer("tok_a", "k", status=201, content_type="application/json", body=b"[2]")
        replayed = requests.claim("tok_a", "k", "second")
        assert replayed is not None and replayed.body == "[2]"
        assert system.retention().expired_idempotency_keys == 0
        now = _claims(store.project(IdempotencyKeys()))
        store.projector.rebuild(IdempotencyKeys())
        rebuilt = _claims(store.db.conn)
    assert len(live) == 1
    assert rebuilt == now
    assert sorted(row[1] for row in now) == [0, 1]  # tok_a's key is in its second generation


def _claims(conn: Any) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT claim, generation, claimed_at, state FROM idempotency_claims ORDER BY claim"
    ).fetchall()
    return [(claim, gen, at, bytes(state)) for claim, gen, at, state in rows]
