"""/api/v1/subscriptions through a real server: every route, the command line's messages in
problem details, pages by cursor, and creates retried under one Idempotency-Key."""

from __future__ import annotations

import concurrent.futures

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore.idempotency import IdempotencyKeys
from tests.api_server import ApiServer
from tests.endpoint import Endpoint
from tests.helpers import invoke

LOBBY = {"name": "Lobby CRM", "url": "https://crm.example.com/hooks", "context_id": "ctx_lobby"}


def test_create_show_update_and_delete_a_subscription(api: ApiServer, admin_token: str) -> None:
    with api.client(admin_token) as http:
        created = http.post("/subscriptions", json={**LOBBY, "events": ["signin.session.*"]})
        sub_id = created.json()["id"]
        shown = http.get(f"/subscriptions/{sub_id}").json()
        changed = http.patch(f"/subscriptions/{sub_id}", json={"flush_interval": "1m"}).json()
        deleted = http.delete(f"/subscriptions/{sub_id}").json()
        gone = http.get(f"/subscriptions/{sub_id}")
        listed = http.get("/subscriptions").json()
        listed_all = http.get("/subscriptions", params={"all": "true"}).json()
    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert shown["secret"] is None and shown["secrets"][0]["secret"] == "[redacted]"
    assert shown["events"] == ["signin.session.*"] and shown["context_id"] == "ctx_lobby"
    assert changed["flush_interval"] == "1m" and changed["name"] == "Lobby CRM"
    assert deleted["deleted"] is True
    assert gone.status_code == 404
    assert gone.json()["detail"].startswith(f"subscription '{sub_id}' was deleted at ")
    assert listed["data"] == []
    assert [s["id"] for s in listed_all["data"]] == [sub_id]


def test_refusals_carry_the_command_lines_message(api: ApiServer, admin_token: str) -> None:
    cli = invoke("--db", str(api.system.path), "subscriptions", "create", "--name", "x",
                 "--url", "ftp://x", "--context", "c")  # fmt: skip
    with api.client(admin_token) as http:
        bad_url = http.post(
            "/subscriptions", json={"name": "x", "url": "ftp://x", "context_id": "c"}
        )
        no_scope = http.post("/subscriptions", json={"name": "x", "url": "https://x.example"})
        both = http.post(
            "/subscriptions",
            json={**LOBBY, "organization_id": "org_acme"},
        )
        unknown_field = http.post("/subscriptions", json={**LOBBY, "colour": "red"})
        wrong_type = http.post("/subscriptions", json={**LOBBY, "max_events": "many"})
        missing = http.get("/subscriptions/sub_nothing")
    assert bad_url.status_code == 400
    # the command line's message, with the field's name where the command line puts its option
    shown = cli.stderr.strip().removeprefix("signin-webhooks: ")
    assert bad_url.json()["detail"] == shown.replace("--url", "url")
    assert no_scope.json()["detail"] == ("give exactly one of context_id ID and organization_id ID")
    assert both.json()["detail"] == "give context_id or organization_id, not both"
    assert unknown_field.status_code == 400 and "colour" in unknown_field.json()["detail"]
    assert wrong_type.status_code == 400 and "max_events" in wrong_type.json()["detail"]
    assert missing.status_code == 404
    assert missing.json()["detail"] == (
        "no subscription 'sub_nothing'; `GET /api/v1/subscriptions` shows the ids"
    )


def test_actions_enable_disable_rotate_test_and_recover(
    api: ApiServer, admin_token: str, endpoints
) -> None:
    endpoint: Endpoint = endpoints()
    with api.client(admin_token) as http:
        sub = http.post("/subscriptions", json={**LOBBY, "url": endpoint.url_for("/hook")}).json()
        path = f"/subscriptions/{sub['id']}"
        disabled = http.post(f"{path}/disable").json()
        enabled = http.post(f"{path}/enable", params={"from_now": "true"}).json()
        rotated = http.post(f"{path}/rotate-secret", params={"grace": "1h"}).json()
        tested = http.post(f"{path}/test", json={"type": "signin.dhcp.granted"}).json()
        counted = http.post(f"{path}/recover", json={"since": "2026-01-01", "dry_run": True})
        bad_window = http.post(
            f"{path}/recover", json={"since": "2026-02-01", "until": "2026-01-01"}
        )
    assert disabled["enabled"] is False and enabled["enabled"] is True
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != sub["secret"]
    assert len(rotated["secrets"]) == 2
    assert tested["delivery"]["status"] == "succeeded"
    assert tested["attempt"]["response_status"] == 200
    assert endpoint.wait_for(1)[0].path == "/hook"
    assert counted.json() == {"requested": False, "waits": False, "events": 0}
    assert bad_window.status_code == 400
    assert bad_window.json()["detail"] == "until must be later than since"


def test_the_list_pages_by_cursor_and_new_subscriptions_never_shift_a_page(
    api: ApiServer, admin_token: str
) -> None:
    with api.client(admin_token) as http:
        ids = [http.post("/subscriptions", json=LOBBY).json()["id"] for _ in range(5)]
        first = http.get("/subscriptions", params={"limit": 2}).json()
        http.post("/subscriptions", json=LOBBY)
        second = http.get("/subscriptions", params={"limit": 2, "after": first["next"]}).json()
        too_many = http.get("/subscriptions", params={"limit": 1001})
    assert [s["id"] for s in first["data"]] == ids[:2]
    assert [s["id"] for s in second["data"]] == ids[2:4]
    assert too_many.status_code == 400 and "limit" in too_many.json()["detail"]


def test_a_create_retried_under_one_idempotency_key_makes_one_subscription(
    api: ApiServer, admin_token: str
) -> None:
    key = {"Idempotency-Key": "create-lobby-1"}
    with api.client(admin_token) as http:
        first = http.post("/subscriptions", json=LOBBY, headers=key)
        again = http.post("/subscriptions", json=LOBBY, headers=key)
        other_body = http.post("/subscriptions", json={**LOBBY, "name": "x"}, headers=key)

        def create(_: int) -> int:
            return http.post(
                "/subscriptions", json=LOBBY, headers={"Idempotency-Key": "k2"}
            ).status_code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            racing = list(pool.map(create, range(8)))
    assert first.status_code == 201 and again.status_code == 201
    assert first.json()["secret"].startswith("whsec_")
    assert again.json() == {**first.json(), "secret": None}  # a secret is shown once
    assert again.headers["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 409
    assert "was used for another request" in other_body.json()["detail"]
    assert set(racing) <= {201, 409} and 201 in racing
    assert len(api.system.subscriptions.list()) == 2


def test_a_secret_is_kept_by_no_idempotency_key_and_shown_once(
    api: ApiServer, admin_token: str
) -> None:
    with api.client(admin_token) as http:
        created = http.post("/subscriptions", json=LOBBY, headers={"Idempotency-Key": "c"}).json()
        path = f"/subscriptions/{created['id']}/rotate-secret"
        rotated = http.post(path, headers={"Idempotency-Key": "r"}).json()
        again = http.post(path, headers={"Idempotency-Key": "r"})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == {**rotated, "secret": None}
    store = api.system.subscriptions.ledger.store
    answers = [
        r.body for r in store.log.read(internal=True, signin=False) if r.type == "request.answered"
    ]
    kept = store.project(IdempotencyKeys()).execute("SELECT state FROM idempotency_claims")
    kept = [bytes(row[0]) for row in kept.fetchall()]
    assert len(answers) == 2 and len(kept) == 2
    for secret in (created["secret"], rotated["secret"]):
        assert secret.startswith("whsec_")
        assert not any(secret.encode() in bytes(a) for a in answers)
        assert not any(secret.encode() in state for state in kept)


def test_idempotency_keys_survive_a_restart_because_they_are_in_the_log(
    system: WebhookSystem, admin_token: str, clock: ManualClock
) -> None:
    key = {"Idempotency-Key": "restart-1"}
    server = ApiServer(system).start()
    with server.client(admin_token) as http:
        first = http.post("/subscriptions", json=LOBBY, headers=key).json()
    server.stop()
    again_system = WebhookSystem(system.path, deliver=False, clock=clock)
    server = ApiServer(again_system).start()
    try:
        with server.client(admin_token) as http:
            again = http.post("/subscriptions", json=LOBBY, headers=key).json()
    finally:
        server.stop()
        again_system.stop()
    assert again == {**first, "secret": None}
    assert len(system.subscriptions.list()) == 1
