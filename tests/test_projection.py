"""Projections kept from the log: exactly-once, and a rebuild gives exactly the live rows; on
each backend."""

from __future__ import annotations

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import EventCounts, InternalEvent, Projector, Store, parse_events
from tests.backends import BACKENDS
from tests.helpers import event

pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)


class NoteRecorded(InternalEvent, frozen=True, tag="test.projection.note_recorded"):
    note: str


def append(store: Store, events: list[dict[str, Any]]) -> None:
    store.log.append(parse_events(json.dumps(events).encode()))


def counts(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], int]:
    return {(r["type"], r["organization_id"], r["context_id"]): r["count"] for r in rows}


def test_event_counts_are_kept_per_type_organization_and_context(database):
    with WebhookSystem(database, deliver=False) as system:
        system.publish(
            [
                event(1),
                event(2),
                event(3, type="signin.dhcp.granted"),
                event(4, organization="org-2", context="ctx-7"),
                event(5, context="ctx-2"),
            ]
        )
        system.store.log.append_internal([NoteRecorded(note="not a Sign In event")])
        first = system.event_counts()
        system.publish([event(6), event(7, type="signin.dhcp.granted", context="ctx-2")])
        second = system.event_counts()

    assert first == [
        {"type": "signin.dhcp.granted", "organization_id": "org_acme", "context_id": "ctx_lobby",
         "count": 1},
        {"type": "signin.session.created", "organization_id": "org-2", "context_id": "ctx-7",
         "count": 1},
        {"type": "signin.session.created", "organization_id": "org_acme", "context_id": "ctx-2",
         "count": 1},
        {"type": "signin.session.created", "organization_id": "org_acme", "context_id": "ctx_lobby",
         "count": 2},
    ]  # fmt: skip
    assert counts(second) == {
        ("signin.dhcp.granted", "org_acme", "ctx_lobby"): 1,
        ("signin.dhcp.granted", "org_acme", "ctx-2"): 1,
        ("signin.session.created", "org_acme", "ctx_lobby"): 3,
        ("signin.session.created", "org_acme", "ctx-2"): 1,
        ("signin.session.created", "org-2", "ctx-7"): 1,
    }


def test_event_counts_of_an_empty_log_are_empty(database):
    with WebhookSystem(database, deliver=False) as system:
        assert system.event_counts() == []


def test_rebuilding_from_zero_gives_exactly_the_live_rows(database):
    store = Store(database)
    kinds = ["signin.session.created", "signin.dhcp.granted", "signin.arenasession.login"]
    for call in range(6):
        append(
            store,
            [
                event(n, kinds[n % 3], organization=f"org-{n % 2}", context=f"ctx-{call % 4}")
                for n in range(call + 3)
            ],
        )
        store.log.append_internal([NoteRecorded(note=f"call {call}")])
        live = EventCounts.rows(store.project(EventCounts()))
    last = store.log.last_sequence()

    rebuilt_at = store.projector.rebuild(EventCounts())
    rebuilt = EventCounts.rows(store.db.conn)
    paged_at = Projector(store.log, page=4).rebuild(EventCounts())
    paged = EventCounts.rows(store.db.conn)

    assert rebuilt == live == paged
    assert sum(r["count"] for r in live) == sum(range(3, 9))
    assert rebuilt_at == paged_at == store.projector.checkpoint(EventCounts())
    assert rebuilt_at == last  # the count projection also reads compaction snapshots
    store.close()


def test_catching_up_twice_applies_nothing_twice(database):
    store = Store(database)
    append(store, [event(1), event(2)])

    once = EventCounts.rows(store.project(EventCounts()))
    twice = EventCounts.rows(store.project(EventCounts()))

    assert once == twice == [
        {"type": "signin.session.created", "organization_id": "org_acme", "context_id": "ctx_lobby",
         "count": 2}
    ]  # fmt: skip
    store.close()


def test_a_projection_sees_what_another_store_appended(database):
    reader, writer = Store(database), Store(database)
    reader.project(EventCounts())

    append(writer, [event(1), event(2, context="ctx-2")])

    assert counts(EventCounts.rows(reader.project(EventCounts()))) == {
        ("signin.session.created", "org_acme", "ctx_lobby"): 1,
        ("signin.session.created", "org_acme", "ctx-2"): 1,
    }
    reader.close()
    writer.close()


def test_two_stores_catching_up_concurrently_apply_each_event_once(database):
    path = database
    seed = Store(path)
    for call in range(20):
        append(seed, [event(n, context=f"ctx-{n % 3}") for n in range(call * 10, call * 10 + 10)])
    seed.close()
    stores = [Store(path), Store(path)]
    start = threading.Barrier(len(stores))

    def work(store: Store, me: int) -> None:
        projector = Projector(store.log, page=7)  # many small transactions, to interleave
        start.wait()
        for call in range(10):
            append(
                store, [event(1000 * (me + 1) + call * 5 + n, context="ctx-new") for n in range(5)]
            )
            projector.catch_up(EventCounts())

    with ThreadPoolExecutor(len(stores)) as pool:
        for future in [pool.submit(work, store, me) for me, store in enumerate(stores)]:
            future.result()
    live = [EventCounts.rows(store.project(EventCounts())) for store in stores]
    published = Counter(r.context_id for r in stores[0].log.read())
    stores[0].projector.rebuild(EventCounts())
    rebuilt = EventCounts.rows(stores[0].db.conn)

    assert live[0] == live[1] == rebuilt
    assert {r["context_id"]: r["count"] for r in rebuilt} == dict(published)
    assert sum(r["count"] for r in rebuilt) == 200 + 2 * 50
    for store in stores:
        store.close()
