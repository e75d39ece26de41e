"""fan-out: matched (event, subscription) pairs the router routes per second, reading the log,
beside the same matching as a plain Python loop over a dict of in-memory events."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.router import Router
from signin_webhooks.actors.runtime import Recorder, Runtime
from signin_webhooks.actors.scheduler import Scheduler
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row, timed
from signin_webhooks.cli.bench.setup import add_subscriptions, publish_many
from signin_webhooks.eventstore import Store
from signin_webhooks.eventstore.settings import InstallationSettings
from signin_webhooks.eventstore.subscription_index import taken_types

EVENT_SETS = (["*"], ["signin.session.*"], ["signin.dhcp.*", "signin.configuration.audit"])


class _Counter:
    """Stands where a batcher would: counts what it is sent."""

    def __init__(self) -> None:
        self.pairs = 0

    def tell(self, message: Any) -> None:
        self.pairs += len(message.entries)


def fan_out(places: Places, n_events: int, n_subs: int = 1000) -> Row:
    db = places.new("fanout.db")
    contexts = [f"ctx_{i}" for i in range(100)]
    organizations = [f"org_{i}" for i in range(10)]
    specs: list[dict[str, object]] = []
    for i in range(n_subs):
        specs.append({
            "name": f"s{i}",
            "url": "https://hooks.example.com/in",
            "scope": "organization" if i % 10 == 0 else "context",
            "scope_id": organizations[i % 10] if i % 10 == 0 else contexts[i % 100],
            "events": EVENT_SETS[i % 3],
        })  # fmt: skip
    add_subscriptions(db, specs)
    for i, org in enumerate(organizations):
        publish_many(db, n_events // 10, contexts[i * 10 : (i + 1) * 10], organization=org)

    store = Store(db)
    clock = SystemClock()
    settings = InstallationSettings.current(store.project(InstallationSettings()))
    runtime = Runtime(db, clock, Scheduler(clock), Recorder(store), settings)
    router = Router(runtime, pool=None)
    router.store = store
    router._load_state_at(store.log.last_sequence())
    counter = _Counter()
    router.batchers = dict.fromkeys(router.state, counter)
    router.position = 0
    router.started_at = store.log.last_sequence()
    ours = timed(router._catch_up)
    pairs = counter.pairs

    # Baseline: the same matching over events already in memory, as a plain dict loop.
    events = [(r.type, r.organization_id, r.context_id) for r in store.log.read()]
    index: dict[tuple[str | None, str], list[frozenset[str]]] = defaultdict(list)
    for spec in specs:
        patterns = spec["events"]
        assert isinstance(patterns, tuple | list)
        taken = taken_types(patterns)
        index[(str(spec["scope_id"]), str(spec["scope"]))].append(taken)

    def baseline() -> int:
        found = 0
        for kind, org, ctx in events:
            for taken in index.get((ctx, "context"), ()):
                found += kind in taken
            for taken in index.get((org, "organization"), ()):
                found += kind in taken
        return found

    base = timed(baseline)
    store.close()
    assert baseline() == pairs, (baseline(), pairs)
    return row(
        "fan-out", pairs / ours, "pairs/s", pairs / base,
        f"{n_subs} subscriptions, {n_events} events, {pairs} matched pairs",
    )  # fmt: skip
