"""Positions in commit order on PostgreSQL: an append that numbered its events first also commits
first, so a router tailing the log never passes an event that commits late.

The test makes the race happen: the first append is held inside its transaction, after its rows
are written and before its commit (a trigger waits on a lock the test holds), while a second
append on another connection tries to commit behind it. Without the remedy the second would
commit first, the router would read past the first's sequence and never route it.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator

import psycopg
import pytest

from signin_webhooks.eventstore import AppendResult, Store, parse_events
from tests.backends import BACKENDS
from tests.helpers import event, received_ids, subscribe, wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)


def waiting_on(admin: psycopg.Connection, pid: int, kind: str) -> bool:
    row = admin.execute(
        "SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s", [pid]
    ).fetchone()
    return row is not None and row[0] == "Lock" and row[1] == kind


@pytest.fixture
def admin(database: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(database, autocommit=True) as conn:
        yield conn


def hold_commits_of(admin: psycopg.Connection, event_id: str) -> int:
    """Rows with this id wait, inside their append's transaction, until the test lets go of
    the advisory lock returned (taken here)."""
    key = secrets.randbits(62)
    admin.execute("SELECT pg_advisory_lock(%s)", [key])
    admin.execute(
        "CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF NEW.id = '{event_id}' THEN PERFORM pg_advisory_xact_lock_shared({key}); END IF;"
        " RETURN NEW; END $$"
    )
    admin.execute(
        "CREATE TRIGGER hold_commit AFTER INSERT ON events"
        " FOR EACH ROW EXECUTE FUNCTION hold_commit()"
    )
    return key


def test_an_append_that_commits_late_is_routed_and_the_one_behind_it_waits(
    system, database, admin, endpoints
):
    endpoint = endpoints()
    subscribe(system, endpoint, max_events=1)
    key = hold_commits_of(admin, "first")
    slow, fast = Store(database), Store(database)
    results: dict[str, AppendResult] = {}

    def append(store: Store, event_id: str) -> None:
        results[event_id] = store.log.append(parse_events(json.dumps(event(event_id)).encode()))

    first = threading.Thread(target=append, args=(slow, "first"))
    first.start()
    slow_pid = slow.db.conn.raw.info.backend_pid
    wait_until(lambda: waiting_on(admin, slow_pid, "advisory"), "the first append to be held")
    second = threading.Thread(target=append, args=(fast, "second"))
    second.start()
    fast_pid = fast.db.conn.raw.info.backend_pid
    # The second append queues for the log head the first holds: it cannot commit before it.
    wait_until(lambda: waiting_on(admin, fast_pid, "transactionid"), "the second to queue")
    system.wake()
    system.routed(timeout=10)
    assert "second" not in received_ids(endpoint)

    admin.execute("SELECT pg_advisory_unlock(%s)", [key])
    first.join(timeout=10)
    second.join(timeout=10)
    system.wake()

    endpoint.wait_for(2)
    assert received_ids(endpoint) == ["first", "second"]
    assert (results["first"].last_sequence or 0) < (results["second"].first_sequence or 0)
    slow.close()
    fast.close()
