"""`serve --log-format json|text` and `--quiet`, as `run` takes them: the system's lines and
uvicorn's in one format on stderr, or only warnings and errors."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess

import httpx

from tests.api_server import HOST, ServeProcess


def test_serve_logs_json_lines_its_own_uvicorns_and_the_systems(command: str, db) -> None:
    server = ServeProcess(command, db, "--log-format", "json", "--access-log")
    try:
        health = httpx.get(server.url + "/healthz")
    finally:
        code, stderr = server.stop()
    assert health.status_code == 200 and code == 0
    lines = [json.loads(line) for line in stderr.splitlines()]
    events = [line["event"] for line in lines]
    assert events[0] == "started" and events[-1] == "stopping"
    assert lines[0]["url"] == server.url + "/api/v1" and lines[0]["deliver"] is True
    assert "retention" in events  # the delivering system's, as it started
    access = [line for line in lines if line.get("logger") == "uvicorn.access"]
    assert len(access) == 1 and "GET /healthz" in access[0]["message"]
    assert all(line["time"].endswith("Z") and line["level"] for line in lines)


def test_serve_text_lines_carry_uvicorns_beside_the_systems(command: str, db) -> None:
    server = ServeProcess(command, db, "--no-deliver")
    try:
        health = httpx.get(server.url + "/healthz")
    finally:
        code, stderr = server.stop()
    lines = stderr.splitlines()
    assert health.status_code == 200 and code == 0
    assert not any("logger=uvicorn.access" in line for line in lines)  # not without --access-log
    assert lines[0].startswith("signin-webhooks: serving from ")
    assert lines[-1] == "signin-webhooks: stopping: attempts in flight finish first"
    assert any(" info message logger=uvicorn.error " in line for line in lines)


def test_serve_quiet_writes_nothing_while_it_serves(command: str, db) -> None:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [command, "--db", str(db), "serve", "--port", str(port), "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = _first_answer(f"http://{HOST}:{port}/healthz", process)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert health == 200
    assert process.returncode == 0 and stderr == ""


def test_serve_refuses_quiet_with_access_log(command: str, db) -> None:
    refused = subprocess.run(
        [command, "--db", str(db), "serve", "--quiet", "--access-log"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "--access-log logs every request and --quiet only warnings" in refused.stderr


def _first_answer(url: str, process: subprocess.Popen[str]) -> int:
    """The status of the first request the server answers: it listens once it has started."""
    for _ in range(600):
        try:
            return httpx.get(url, timeout=30).status_code
        except httpx.ConnectError:
            if process.poll() is not None:
                raise AssertionError("serve exited") from None
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.1)  # not listening yet: look again unless it exited
    raise AssertionError("serve did not answer")
