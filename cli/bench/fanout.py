"""fan-out: matched (event, subscription) pairs routed per second, from a start on a log that
holds the events until every one is routed, beside the same matching as a plain Python loop over
a dict of in-memory events."""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row, timed
from signin_webhooks.cli.bench.setup import add_subscriptions, publish_many
from signin_webhooks.eventstore.event_types import selected

EVENT_SETS = (["*"], ["signin.session.*"], ["signin.dhcp.*", "signin.configuration.audit"])


def fan_out(places: Places, n_events: int, n_subs: int = 1000) -> Row:
    """The subscriptions' batches never fill (`max_events` above what each takes, a day's flush
    interval), so routing is all the running system does: nothing is sealed or sent."""
    db, empty = places.new("fanout.db"), places.new("fanout-empty.db")
    contexts = [f"ctx_{i}" for i in range(100)]
    organizations = [f"org_{i}" for i in range(10)]
    specs: list[dict[str, object]] = []
    for i in range(n_subs):
        scope = "organization" if i % 10 == 0 else "context"
        specs.append({
            "name": f"s{i}",
            "url": "https://hooks.example.com/in",
            scope: organizations[i % 10] if i % 10 == 0 else contexts[i % 100],
            "events": EVENT_SETS[i % 3],
            "max_events": 1_000_000,
            "flush_interval": "24h",
        })  # fmt: skip
    add_subscriptions(db, specs)
    add_subscriptions(empty, specs)
    for i, org in enumerate(organizations):
        publish_many(db, n_events // 10, contexts[i * 10 : (i + 1) * 10], organization=org)

    ours = _start_and_route(db) - _start_and_route(empty)  # routing, less starting
    with WebhookSystem(db, deliver=False) as system:
        pairs = sum(s["backlog"] for s in system.status())

    # Baseline: the same matching over events already in memory, as a plain dict loop.
    with WebhookSystem(db, deliver=False) as system:
        events = [(r.type, r.organization_id, r.context_id) for r in system.replay()]
    index: dict[tuple[str | None, str], list[frozenset[str]]] = defaultdict(list)
    for spec in specs:
        patterns = spec["events"]
        assert isinstance(patterns, tuple | list)
        taken = frozenset(selected(patterns))
        scope = "organization" if "organization" in spec else "context"
        index[(str(spec[scope]), scope)].append(taken)

    def baseline() -> int:
        found = 0
        for kind, org, ctx in events:
            for taken in index.get((ctx, "context"), ()):
                found += kind in taken
            for taken in index.get((org, "organization"), ()):
                found += kind in taken
        return found

    base = timed(baseline)
    assert baseline() == pairs, (baseline(), pairs)
    return row(
        "fan-out", pairs / ours, "pairs/s", pairs / base,
        f"{n_subs} subscriptions, {n_events} events, {pairs} matched pairs; a start on the log"
        " to every event routed, less a start on the subscriptions alone",
    )  # fmt: skip


def _start_and_route(db: str | Path) -> float:
    """Seconds from a start on `db` until every event in it is routed to its batchers."""
    start = time.perf_counter()
    with WebhookSystem(db) as system:  # a start routes the log; routed() waits for the rest
        system.routed(timeout=600)
        return time.perf_counter() - start
