"""POST and GET /api/v1/events through a real server: publishing as `publish` does, replay
pages that hold still while events arrive, and bodies over the limit refused as they stream."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import threading
from typing import Any

from signin_webhooks import AppendResult
from signin_webhooks.actors import WebhookSystem
from tests.api_server import ApiServer
from tests.helpers import event, invoke


def test_publish_takes_an_object_an_array_or_ndjson_and_reports_as_publish_does(
    api: ApiServer, admin_token: str
) -> None:
    with api.client(admin_token) as http:
        one = http.post("/events", json=event("e1"))
        many = http.post("/events", json=[event("e2"), event("e3")])
        lines = "\n".join(json.dumps(event(f"e{n}")) for n in (4, 5)) + "\n"
        ndjson = http.post(
            "/events", content=lines, headers={"Content-Type": "application/x-ndjson"}
        )
        again = http.post("/events", json=event("e1"))
    assert one.status_code == 200, one.text
    assert one.json()["appended"] == 1
    assert many.json()["appended"] == 2
    assert ndjson.json() == {
        "appended": 2,
        "duplicates": 0,
        "first_sequence": one.json()["first_sequence"] + 3,
        "last_sequence": one.json()["first_sequence"] + 4,
    }
    assert again.json() == {
        "appended": 0,
        "duplicates": 1,
        "first_sequence": None,
        "last_sequence": None,
    }


def test_an_invalid_event_appends_nothing_and_answers_the_command_lines_lines(
    api: ApiServer, admin_token: str, tmp_path
) -> None:
    bad = [event("ok1"), {"type": "signin.session.created", "context_id": "c"}]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    cli = invoke("--db", str(api.system.path), "publish", str(tmp_path / "bad.json"))
    with api.client(admin_token) as http:
        answer = http.post("/events", json=bad)
        replayed = http.get("/events").json()
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    expected = [line.removeprefix("signin-webhooks: ") for line in cli.stderr.splitlines()]
    assert problem["errors"] == expected
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    assert replayed == {"data": [], "next": None}


def test_replay_filters_as_replay_does_and_pages_by_cursor(
    api: ApiServer, admin_token: str
) -> None:
    api.system.publish([event(f"s{n}") for n in range(5)])
    api.system.publish([event(f"d{n}", "signin.dhcp.granted", context="ctx_b") for n in range(3)])
    with api.client(admin_token) as http:
        dhcp = http.get("/events", params={"type": "signin.dhcp.*"}).json()
        lobby = http.get("/events", params={"context": "ctx_lobby", "limit": 2}).json()
        rest = http.get("/events", params={"context": "ctx_lobby", "after": lobby["next"]}).json()
        bad_type = http.get("/events", params={"type": "signin.nothing"})
        bad_cursor = http.get("/events", params={"after": "not-a-cursor"})
    assert [e["id"] for e in dhcp["data"]] == ["d0", "d1", "d2"]
    assert [e["id"] for e in lobby["data"]] == ["s0", "s1"]
    assert [e["id"] for e in rest["data"]] == ["s2", "s3", "s4"]
    assert rest["next"] is None
    assert dhcp["data"][0]["sequence"] > 0 and dhcp["data"][0]["recorded_at"]
    assert bad_type.status_code == 400
    assert "matches no event type" in bad_type.json()["detail"]
    assert bad_cursor.status_code == 400
    assert "is not a cursor of this list" in bad_cursor.json()["detail"]


def test_paging_through_the_log_while_others_publish_sees_each_event_once_in_order(
    api: ApiServer, admin_token: str
) -> None:
    api.system.publish([event(f"before{n}") for n in range(30)])
    stop = threading.Event()

    def publish_meanwhile() -> None:
        with api.client(admin_token) as http:
            n = 0
            while not stop.is_set() and n < 200:
                http.post("/events", json=event(f"during{n}"))
                n += 1

    publisher = threading.Thread(target=publish_meanwhile)
    publisher.start()
    seen: list[int] = []
    try:
        with api.client(admin_token) as http:
            cursor = None
            for _ in range(100):
                page = http.get("/events", params={"limit": 7, "after": cursor}).json()
                seen += [e["sequence"] for e in page["data"]]
                cursor = page["next"]
                if cursor is None:
                    break
    finally:
        stop.set()
        publisher.join()
    assert seen == sorted(set(seen))
    assert len(seen) >= 30


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read_whole(
    system: WebhookSystem, admin_token: str
) -> None:
    system.settings.set("max_request_bytes", "4096")
    server = ApiServer(system).start()
    try:
        with server.client(admin_token) as http:
            announced = http.post("/events", content=b"[" + b" " * 10_000 + b"]")
        assert announced.status_code == 413
        assert announced.json()["detail"] == (
            "the request body is over the 4096-byte limit (setting max_request_bytes);"
            " send it in smaller parts"
        )
        # A chunked body that never ends: the answer comes once the limit is passed.
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"POST /api/v1/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                + f"Authorization: Bearer {admin_token}\r\n\r\n".encode()
            )
            chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"
            for _ in range(3):
                sock.sendall(chunk)
            head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 413")
    finally:
        server.stop()
    assert list(system.replay()) == []


def test_a_read_only_token_reads_and_cannot_publish(api: ApiServer) -> None:
    _, secret = api.system.tokens.create(scope="admin", read_only=True)
    with api.client(secret) as http:
        refused = http.post("/events", json=event("ro1"))
        read = http.get("/events")
    assert refused.status_code == 403
    assert "is read-only" in refused.json()["detail"]
    assert read.status_code == 200
    assert list(api.system.replay()) == []


def test_publishes_sharing_one_commit_keep_their_own_reports_and_their_own_errors(
    system: WebhookSystem,
) -> None:
    system.publish(event("taken"))
    clash = json.dumps(event("taken", session_id="other")).encode()
    calls = [
        (json.dumps(event("g1")).encode(), None),
        (b"{not json", None),
        (json.dumps([event("g2"), event("g3")]).encode(), None),
        (clash, None),
        (json.dumps(event("g1")).encode(), None),
    ]
    first, bad, pair, clashing, repeat = system.publish_each(calls)
    assert isinstance(first, AppendResult) and isinstance(pair, AppendResult)
    assert isinstance(repeat, AppendResult)
    assert (first.appended, pair.appended) == (1, 2)
    assert pair.first_sequence == (first.last_sequence or 0) + 1
    assert "not valid JSON" in str(bad)
    assert "already in the log with other content" in str(clashing)
    assert (repeat.appended, repeat.duplicates) == (0, 1)
    assert [r.id for r in system.replay()] == ["taken", "g1", "g2", "g3"]


def test_concurrent_single_event_posts_each_get_their_own_report(
    api: ApiServer, admin_token: str
) -> None:
    def post(n: int) -> dict[str, Any]:
        with api.client(admin_token) as http:
            return http.post("/events", json=event(f"c{n}")).json()

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        reports = list(pool.map(post, range(40)))
    sequences = [r["first_sequence"] for r in reports]
    assert all(r["appended"] == 1 for r in reports)
    assert len(set(sequences)) == 40
    assert len(list(api.system.replay())) == 40
