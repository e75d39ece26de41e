"""isolation: healthy subscriptions beside 50 whose endpoint answers only after their timeout:
the healthy ones' events per second and publish-to-receipt p99, beside the same run with no
slow endpoints."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.paced import delays, paced, percentiles
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import add_subscriptions
from signin_webhooks.cli.bench.sink import Sink
from signin_webhooks.cli.samples import sample_events

SLOW, HEALTHY = 50, 10
TIMEOUT = 1.0  # the slow subscriptions' timeout; their endpoint answers after twice that
RATE = 200  # events a second, for publish-to-receipt


def isolation(places: Places, sink: Sink, n_events: int) -> list[Row]:
    slow = Sink(delay=2 * TIMEOUT)
    try:
        alone = _run(places.new("isolation-alone.db"), sink, None, n_events)
        beside = _run(places.new("isolation-beside.db"), sink, slow, n_events)
    finally:
        slow.close()
    note = (
        f"{HEALTHY} healthy subscriptions (max_events 1, flush_interval 0) beside {SLOW} whose"
        f" endpoint answers after their {TIMEOUT:g} s timeout; baseline: no slow ones"
    )
    return [
        row("isolation-throughput", beside[0], "events/s", alone[0], f"{n_events} events; {note}"),
        row("isolation-p99", beside[1], "ms", alone[1], f"at {RATE}/s; {note}"),
    ]


def _run(db: str | Path, sink: Sink, slow: Sink | None, n_events: int) -> tuple[float, float]:
    healthy = [f"ctx_h{i}" for i in range(HEALTHY)]
    stalled = [f"ctx_s{i}" for i in range(SLOW)]
    specs = [{"name": c, "url": sink.url, "context": c,
              "max_events": 1, "flush_interval": "0"} for c in healthy]  # fmt: skip
    if slow is not None:
        specs += [{"name": c, "url": slow.url, "context": c,
                   "max_events": 1, "flush_interval": "0", "timeout": f"{TIMEOUT:g}s",
                   "retry_schedule": "1s"} for c in stalled]  # fmt: skip
    add_subscriptions(db, specs)
    events = [{**e, "id": f"iso-{i}"}
              for i, e in enumerate(sample_events(n_events, contexts=healthy))]  # fmt: skip
    timed = [{**e, "id": f"iso-timed-{i}"} for i, e in enumerate(events[: max(200, n_events // 5)])]
    sink.reset()
    with WebhookSystem(db, allow_private_networks=True) as system:
        if slow is not None:  # every slow subscription has an attempt hanging, and retries
            system.publish(sample_events(SLOW * 4, contexts=stalled))
            slow.wait_for(4, timeout=60)
        start = time.time()
        system.publish(b"\n".join(msgspec.json.encode(e) for e in events))
        throughput = n_events / (sink.wait_for(n_events, timeout=600) - start)
        sink.reset(times=True)
        _, p99 = percentiles(delays(sink, paced(timed, RATE, system.publish)))
    return throughput, p99
