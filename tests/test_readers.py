"""The read connections the delivery actors share: each lent to one thread at a time, and on a
server no more of them than the limit, however many threads read at once."""

from __future__ import annotations

import threading

import pytest

from signin_webhooks.actors.pipeline import SERVER_READERS
from signin_webhooks.actors.runtime import Readers
from signin_webhooks.eventstore import Store
from tests.backends import BACKENDS

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)


def test_two_readers_at_once_each_read_in_a_session_of_their_own(database):
    Store(database).close()  # the schema made
    readers = Readers(lambda: Store(database, background=True), SERVER_READERS)
    both_in = threading.Barrier(2, timeout=30)
    seen: dict[str, tuple[int, int, int]] = {}

    def read(name: str) -> None:
        with readers.borrow() as store:
            raw = store.db.conn.raw
            raw.execute("BEGIN")
            (pid,) = raw.execute("SELECT pg_backend_pid()").fetchone()
            (xid,) = raw.execute("SELECT txid_current()").fetchone()
            both_in.wait()  # the other holds a transaction open on its connection meanwhile
            (again,) = raw.execute("SELECT txid_current()").fetchone()
            raw.execute("COMMIT")
            seen[name] = (pid, xid, again)

    threads = [threading.Thread(target=read, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    readers.close()

    (pid_a, xid_a, again_a), (pid_b, xid_b, again_b) = seen["a"], seen["b"]
    assert pid_a != pid_b
    assert (xid_a, xid_b) == (again_a, again_b)  # neither's statements joined the other's
    assert xid_a != xid_b


def test_readers_open_no_more_connections_than_the_limit(database):
    Store(database).close()
    opened: list[Store] = []
    lock = threading.Lock()
    holding, most = 0, 0

    def open_store() -> Store:
        store = Store(database, background=True)
        opened.append(store)
        return store

    readers = Readers(open_store, 2)
    start = threading.Barrier(6, timeout=30)

    def read() -> None:
        nonlocal holding, most
        start.wait()
        for _ in range(20):
            with readers.borrow() as store:
                with lock:
                    holding += 1
                    most = max(most, holding)
                store.log.last_sequence()
                with lock:
                    holding -= 1

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    readers.close()

    assert len(opened) <= 2
    assert most <= 2
    assert all(store.db.conn.raw.closed for store in opened)
