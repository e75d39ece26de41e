"""The PostgreSQL server ends a running worker's sessions (a restart, an administrator's
pg_terminate_backend): `run` opens new ones and keeps delivering, losing nothing and sending
nothing twice but a batch re-sent whole under its webhook-id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.parse
from collections import defaultdict

import psutil
import psycopg
import pytest

from signin_webhooks.actors import WebhookSystem
from tests.backends import BACKENDS
from tests.helpers import event, header, ids, subscribe, wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)
SUBSCRIPTIONS = 3


def server_port(database: str) -> int:
    return urllib.parse.urlsplit(database).port or 5432


def sessions_of(pid: int, database: str) -> set[int]:
    """The client ports of a process's connections to the server."""
    port = server_port(database)
    return {
        c.laddr.port
        for c in psutil.Process(pid).net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    }


def terminate_sessions(database: str, ports: set[int]) -> int:
    """End the server's sessions for those client ports, as an administrator would."""
    with psycopg.connect(database, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE client_port = ANY(%s) AND pid <> pg_backend_pid()",
            [sorted(ports)],
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def test_run_opens_new_sessions_when_the_server_ends_its_own_and_keeps_delivering(
    database, endpoints, command
):
    endpoint = endpoints()
    with WebhookSystem(database, deliver=False, allow_private_networks=True) as system:
        for n in range(SUBSCRIPTIONS):
            subscribe(
                system,
                endpoint,
                name=f"s{n}",
                context=f"ctx_{n}",
                max_events=2,
                flush_interval="0s",
            )
    env = {**os.environ, "SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true"}
    worker = subprocess.Popen(
        [command, "--db", database, "run"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    published: list[str] = []

    def publish(prefix: str) -> None:
        batch = [f"{prefix}{i}" for i in range(10)]
        with WebhookSystem(database, deliver=False) as publisher:
            publisher.publish([event(i, context_id=f"ctx_{n % SUBSCRIPTIONS}") for n, i in
                               enumerate(batch)])  # fmt: skip
        published.extend(batch)

    def delivered() -> bool:
        return set(published) <= {i for request in endpoint.requests for i in ids(request)}

    try:
        publish("a")
        wait_until(delivered, "the first events delivered", timeout=30)
        ports = wait_until(lambda: sessions_of(worker.pid, database), "the worker's sessions")
        assert terminate_sessions(database, ports) == len(ports) >= 3  # reader, writer, leases...

        publish("b")  # noticed by polling: the listening session is gone too
        wait_until(delivered, "the events published after the sessions ended", timeout=30)
        publish("c")
        assert terminate_sessions(database, sessions_of(worker.pid, database)) > 0  # mid-way
        wait_until(delivered, "the events published as the sessions ended again", timeout=30)
        assert worker.poll() is None  # still running
    finally:
        worker.send_signal(signal.SIGTERM)
        _, errors = worker.communicate(timeout=30)

    assert worker.returncode == 0, errors
    batches: dict[str, list[bytes]] = defaultdict(list)
    for request in endpoint.requests:
        batches[header(request, "webhook-id")].append(request.body)
    assert all(len(set(bodies)) == 1 for bodies in batches.values())  # a re-send is the same
    sent = [i for bodies in batches.values() for i in ids_of(bodies[0])]
    assert sorted(sent) == sorted(published)  # each event in exactly one batch, none lost


def ids_of(body: bytes) -> list[str]:
    return [e["id"] for e in json.loads(body)]
