"""deliver: events delivered per second, from the first publish to the last receipt at a sink
in another process, beside a plain loop POSTing the same events in the same batches."""

from __future__ import annotations

import os
import time
from collections import defaultdict

import msgspec
import urllib3

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.places import Places, signin_bodies
from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import CHUNK, add_subscriptions
from signin_webhooks.cli.bench.sink import Sink
from signin_webhooks.cli.bench.threads import cpu_by_kind, cpu_by_thread
from signin_webhooks.cli.samples import sample_events

BATCH = 1000


def deliver(places: Places, sink: Sink, n_events: int, n_subs: int = 100) -> list[Row]:
    """Batches are sealed by size alone (the flush interval is long), so every subscription
    gets n_events / n_subs events, in full batches. `deliver` counts from the first publish, as
    a producer sees it; `deliver-from-log` from a start on a log that holds them already, as the
    baseline does."""
    size = min(BATCH, n_events // n_subs)
    db, held = places.new("deliver.db"), places.new("deliver-held.db")
    contexts = [f"ctx_{i}" for i in range(n_subs)]
    specs = [
        {"name": c, "url": sink.url, "context": c,
         "max_events": size, "flush_interval": "1h"}
        for c in contexts
    ]  # fmt: skip
    add_subscriptions(db, specs)
    add_subscriptions(held, specs)
    chunks = [
        b"\n".join(
            msgspec.json.encode(e)
            for e in sample_events(min(CHUNK, n_events - i), contexts=contexts, seed=i)
        )
        for i in range(0, n_events, CHUNK)
    ]
    sink.reset()
    with WebhookSystem(db, allow_private_networks=True) as system:
        start = time.time()
        for chunk in chunks:
            system.publish(chunk)
        ours = sink.wait_for(n_events, timeout=600) - start
    with WebhookSystem(held, deliver=False) as system:
        for chunk in chunks:
            system.publish(chunk)
    sink.reset()
    start, cpu, threads = time.time(), os.times(), cpu_by_thread()
    with WebhookSystem(held, allow_private_networks=True) as system:
        from_log = sink.wait_for(n_events, timeout=600) - start
        spent = cpu_by_kind(threads, cpu_by_thread(), KINDS)
        ours_cpu = _cpu(cpu)

    sink.reset()
    http = urllib3.PoolManager(maxsize=4)
    headers = {"Content-Type": "application/json"}
    pending: dict[str, list[bytes]] = defaultdict(list)
    start, cpu = time.time(), os.times()
    for context, body in signin_bodies(db):
        batch = pending[context]
        batch.append(body)
        if len(batch) == size:
            http.request("POST", sink.url, body=b"[" + b",".join(batch) + b"]", headers=headers)
            batch.clear()
    for batch in pending.values():
        if batch:
            http.request("POST", sink.url, body=b"[" + b",".join(batch) + b"]", headers=headers)
    base = sink.wait_for(n_events, timeout=600) - start
    base_cpu = _cpu(cpu)
    note = f"{n_subs} subscriptions, {n_events} events, batches of {size}, sink in another process"
    per_event = 1e6 / n_events
    parts = ", ".join(f"{kind} {seconds * per_event:.1f}" for kind, seconds in spent.items())
    return [
        row("deliver", n_events / ours, "events/s", n_events / base, note + "; from first publish"),
        row("deliver-from-log", n_events / from_log, "events/s", n_events / base,
            note + "; from a start on a log holding them"),
        row("deliver-from-log-cpu", ours_cpu * per_event, "µs/event", base_cpu * per_event,
            "CPU of the bench process an event, deliver-from-log beside the plain loop; ours by"
            f" thread (µs an event): {parts or 'not read on this system'}"),
    ]  # fmt: skip


KINDS = {"Router", "Batcher", "DeliveryActor", "RetentionKeeper", "Notifier"}


def _cpu(since: os.times_result) -> float:
    """Seconds of CPU, user and system, of this process since `since`."""
    now = os.times()
    return now.user - since.user + now.system - since.system
