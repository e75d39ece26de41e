"""Several workers on one PostgreSQL log: each subscription owned by one at a time through a
lease, fenced by a token that grows with each new owner; a worker that stops hands its
subscriptions back at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from unittest.mock import ANY

import psycopg
import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.delivery import Deliverer, Job
from signin_webhooks.actors.runtime import Readers, Recorder
from signin_webhooks.actors.transport import Transport
from signin_webhooks.actors.workers import Adopt, LeaseKeeper
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.deliveries import (
    AttemptRecorded,
    BatchCancelled,
    BatchSealed,
    DeliveryHistory,
)
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.leases import LeaseLost, Leases, workers
from signin_webhooks.eventstore.postgres import PostgresDatabase
from signin_webhooks.eventstore.retention import (
    RetentionReport,
    retain_unless_running,
    run_retention,
)
from signin_webhooks.eventstore.subscriptions import Subscriptions
from tests.backends import BACKENDS
from tests.endpoint import Hang
from tests.helpers import event, invoke, received_ids, subscribe, wait_for_facts, wait_until

pytestmark = pytest.mark.parametrize("backend", BACKENDS[1:], indirect=True)


class Router:
    """Stands in for the router: the keeper's messages, kept."""

    def __init__(self) -> None:
        self.told: list[object] = []

    def tell(self, message: object) -> None:
        self.told.append(message)


def seal(sub_id: str) -> BatchSealed:
    return BatchSealed(
        batch_id="dlv_1", subscription_id=sub_id, ranges=[(1, 1)], count=1, bytes=10, ndjson=False
    )


def owners(database: str) -> dict[str, tuple[str, ...]]:
    store = Store(database)
    try:
        return {w.id: w.subscriptions for w in workers(store.db, 15)}
    finally:
        store.close()


def test_a_worker_whose_lease_passed_to_another_records_no_seal(database):
    with WebhookSystem(database, deliver=False, allow_private_networks=True) as system:
        sub_id = system.subscriptions.create(
            name="x", url="http://127.0.0.1:9/hook", context="ctx_lobby"
        ).subscription.id
    keeper = LeaseKeeper(database, 15)
    keeper.start(Router())
    keeper.stop()  # no more rounds: the test moves the lease by hand
    assert keeper.owns(sub_id)
    writer = Store(database)
    recorder = Recorder(writer, keeper)
    recorder.record(seal(sub_id))  # owned: recorded
    with psycopg.connect(database, autocommit=True) as admin:  # the worker pauses past its lease
        admin.execute("UPDATE leases SET expires_at = now() - interval '1 second'")
    other = Leases(writer.db, "wkr_other", "another worker", 15)
    claimed = other.claim(sub_id)
    before = writer.log.last_sequence()

    with pytest.raises(LeaseLost, match=sub_id):
        recorder.record(seal(sub_id))

    assert claimed is not None and claimed[0] == keeper.held[sub_id] + 1
    assert writer.log.last_sequence() == before
    keeper.leave()
    writer.close()


def test_a_subscription_the_router_and_a_round_claim_at_once_is_this_workers_for_both(database):
    with WebhookSystem(database, deliver=False, allow_private_networks=True) as system:
        sub_id = subscribe(system, "http://127.0.0.1:9/hook").subscription.id
    keeper = LeaseKeeper(database, 15)
    router = Router()
    keeper.start(router)  # its round claims the subscription
    keeper.stop()
    try:
        assert router.told == [Adopt(sub_id)]
        assert keeper.claim(sub_id)  # the router, meeting its creation: it is ours, adopt it
    finally:
        keeper.leave()


def test_a_subscription_claimed_while_a_round_reads_the_subscriptions_is_kept(
    database, monkeypatch
):
    system = WebhookSystem(database, deliver=False, allow_private_networks=True)
    keeper = LeaseKeeper(database, 15)
    keeper.start(Router())
    keeper.stop()  # the test runs the next round itself
    created: list[str] = []
    read = Subscriptions.all

    def read_then_created(conn, **kwargs):  # the round has read them; one is created, and the
        found = read(conn, **kwargs)  # router, meeting its creation, claims it
        sub_id = subscribe(system, "http://127.0.0.1:9/hook").subscription.id
        assert keeper.claim(sub_id)
        created.append(sub_id)
        return found

    monkeypatch.setattr(Subscriptions, "all", staticmethod(read_then_created))
    try:
        keeper.round()
        monkeypatch.undo()
        assert keeper.owns(created[0])  # not taken for a deleted one and handed back
        assert owners(database) == {keeper.leases.worker_id: tuple(created)}
    finally:
        keeper.leave()
        system.stop()


def test_a_worker_sends_no_attempt_that_would_outlast_its_lease_nor_any_once_it_is_gone(
    database, endpoints, clock
):
    endpoint = endpoints()
    with WebhookSystem(database, deliver=False, allow_private_networks=True) as system:
        sub = subscribe(system, endpoint, timeout="30s").subscription
    keeper = LeaseKeeper(database, 15)  # a lease shorter than the attempt's timeout
    keeper.start(Router())
    keeper.stop()  # no more rounds: the test moves the lease by hand
    token = keeper.token(sub.id)
    writer = Store(database)
    recorder = Recorder(writer, keeper)
    readers = Readers(lambda: Store(database, background=True), 1)
    transport = Transport(allow_private=True)
    deliverer = Deliverer(readers, recorder, transport, clock)

    def job() -> Job:
        test = BatchSealed(batch_id=short_id("dlv_"), subscription_id=sub.id, ranges=[], count=0,
                           bytes=2, ndjson=False, trigger="test", body="[]")  # fmt: skip
        recorder.record(test)
        delivery = DeliveryHistory.get(writer.project(DeliveryHistory()), test.batch_id)
        assert delivery is not None
        return Job(delivery, sub, 1, "test", lease=token)

    try:
        deliverer.deliver(job())  # extended first: it lasts the attempt's 30 s and more
        assert len(endpoint.requests) == 1
        assert lease_left(database, sub.id) > 30
        pending = job()
        with psycopg.connect(database, autocommit=True) as admin:  # the worker pauses past it
            admin.execute("UPDATE leases SET expires_at = now() - interval '1 second'")
        assert Leases(writer.db, "wkr_other", "another worker", 15).claim(sub.id) is not None

        with pytest.raises(LeaseLost, match=sub.id):
            deliverer.deliver(pending)

        assert len(endpoint.requests) == 1  # nothing sent: the new owner sends it
    finally:
        transport.close()
        readers.close()
        keeper.leave()
        writer.close()


def lease_left(database, sub_id: str) -> float:
    with psycopg.connect(database, autocommit=True) as admin:
        found = admin.execute(
            "SELECT extract(epoch FROM expires_at - now()) FROM leases WHERE subscription_id = %s",
            [sub_id],
        ).fetchone()
    assert found is not None
    return float(found[0])


def test_two_workers_share_the_subscriptions_and_one_that_stops_hands_them_back(
    database, endpoints, clock
):
    endpoint = endpoints()
    first = WebhookSystem(database, clock=clock, allow_private_networks=True).start()
    subs = [
        subscribe(first, endpoint, name=f"s{i}", context=f"ctx_{i}", max_events=1) for i in range(4)
    ]
    second = WebhookSystem(database, clock=clock, allow_private_networks=True).start()
    try:
        assert second._pipeline is not None and second._pipeline.leases is not None
        second._pipeline.leases.poke()
        assert first._pipeline is not None and first._pipeline.leases is not None
        first._pipeline.leases.poke()  # over its share now: it hands two back

        def shared() -> bool:
            held = owners(database)
            return len(held) == 2 and sorted(len(s) for s in held.values()) == [2, 2]

        wait_until(shared, "each worker to own two subscriptions")
        assert "2 workers" in (first.running() or "")
        shown = json.loads(invoke("--db", database, "status", "--json").stdout)
        assert sorted(len(w["subscriptions"]) for w in shown["workers"]) == [2, 2]
        assert {s for w in shown["workers"] for s in w["subscriptions"]} == {
            saved.subscription.id for saved in subs
        }
        text = invoke("--db", database, "status").stdout
        assert all(f"worker {w['id']} ({w['name']}): " in text for w in shown["workers"])
        first.publish([event(f"e{i}", context=f"ctx_{i}") for i in range(4)])
        wait_until(lambda: len(endpoint.requests) >= 4, "every event delivered")

        first_id = first._pipeline.leases.leases.worker_id
        first.stop()
        held = owners(database)
        assert first_id not in held  # handed back at once: the second is told and claims them
        second_id = second._pipeline.leases.leases.worker_id
        wait_until(lambda: len(owners(database).get(second_id, ())) == 4, "the second to own all")
        second.publish([event(f"f{i}", context=f"ctx_{i}") for i in range(4)])
        wait_until(lambda: len(endpoint.requests) >= 8, "every event delivered")
    finally:
        first.stop()
        second.stop()
    assert sorted(received_ids(endpoint)) == sorted(
        [f"e{i}" for i in range(4)] + [f"f{i}" for i in range(4)]
    )
    assert len(subs) == 4


def test_a_subscription_deleted_during_an_attempt_keeps_its_lease_until_the_attempt_is_recorded(
    system, endpoints, database
):
    endpoint = endpoints(Hang())
    sub_id = subscribe(system, endpoint, max_events=1, timeout="1s").subscription.id
    system.publish(event("in-flight"))
    endpoint.wait_for(1)
    assert system._pipeline is not None and system._pipeline.leases is not None
    keeper = system._pipeline.leases

    system.subscriptions.delete(sub_id)
    keeper.round()  # a round of the keeper's while the attempt is still in flight

    assert keeper.owns(sub_id)  # its batcher records the attempt under the lease
    (attempt,) = wait_for_facts(system, AttemptRecorded, sub_id, 1)
    (cancelled,) = wait_for_facts(system, BatchCancelled, sub_id, 1)
    assert cancelled.batch_id == attempt.batch_id
    wait_until(lambda: not keeper.owns(sub_id), "the lease handed back once the batcher stopped")
    assert all(sub_id not in held for held in owners(database).values())


def test_one_worker_at_a_time_runs_retention_and_the_others_skip_or_wait(database, clock):
    with WebhookSystem(database, clock=clock, deliver=False) as system:
        system.settings.set("log_retention", "1h")
        system.publish([event(f"old{i}") for i in range(3)])
    later = clock.now + dt.timedelta(hours=2)
    running, timed, operator = Store(database), Store(database), Store(database)
    try:
        head = timed.log.last_sequence()
        with running.db.exclusive("retention") as mine:  # a worker's run under way
            assert mine
            assert retain_unless_running(timed, later) is None  # another worker's timer
            assert timed.log.last_sequence() == head
            reports: list[RetentionReport] = []
            waiting = threading.Thread(
                target=lambda: reports.append(run_retention(operator, later))
            )
            waiting.start()  # an operator's `retention`: it waits its turn
            assert isinstance(running.db, PostgresDatabase)
            key = running.db.lock_key("retention")
            wait_until(lambda: advisory_waits(database, key) == 1, "the operator's run to wait")
            assert not reports
        waiting.join()
        assert reports[0].compacted_events == 3
        assert timed.log.last_sequence() == head + 1  # the one compaction's record
        assert retain_unless_running(timed, later) == RetentionReport(0, ANY, 0, ANY)
    finally:
        for store in (running, timed, operator):
            store.close()


def advisory_waits(database, key: int) -> int:
    """Sessions waiting for the advisory lock `key` (its halves are pg_locks' classid, objid)."""
    with psycopg.connect(database, autocommit=True) as admin:
        found = admin.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND classid::bigint = %s AND objid::bigint = %s",
            [key >> 32, key & 0xFFFFFFFF],
        ).fetchone()
    assert found is not None
    return int(found[0])
