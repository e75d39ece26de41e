"""The API over each log backend: tokens, an idempotent create, a publish and a replay page
work the same on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer
from tests.backends import BACKENDS
from tests.helpers import event


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
def test_the_api_works_alike_on_every_backend(database: str | Path) -> None:
    with WebhookSystem(database, allow_private_networks=True) as system:
        _, secret = system.tokens.create(
            scope="context", context="ctx_lobby", organization="org_acme"
        )
        server = ApiServer(system).start()
        try:
            body = {"name": "n", "url": "https://crm.example.com/h", "context_id": "ctx_lobby"}
            key = {"Idempotency-Key": "one"}
            with server.client(secret) as http:
                created = http.post("/subscriptions", json=body, headers=key)
                again = http.post("/subscriptions", json=body, headers=key)
                published = http.post("/events", json=[event(f"p{n}") for n in range(3)])
                page = http.get("/events", params={"limit": 2}).json()
                rest = http.get("/events", params={"after": page["next"]}).json()
                refused = http.post("/events", json=event("x", context="ctx_other"))
        finally:
            server.stop()
        assert created.status_code == 201 and again.json() == {**created.json(), "secret": None}
        assert published.json()["appended"] == 3
        assert [e["id"] for e in page["data"] + rest["data"]] == ["p0", "p1", "p2"]
        assert refused.status_code == 403
        assert len(system.subscriptions.list()) == 1
