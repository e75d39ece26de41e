"""deliver-small: a request per event, as `max_events` 1 and `flush_interval` 0 make it, to 100
subscriptions: requests per second from the first publish to the last receipt, beside a urllib3
loop POSTing the same bodies to the same sink with as many connections at once as ours may open;
and publish-to-receipt at a steady rate meanwhile, beside a direct POST of each event."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import msgspec
import urllib3

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.bench.paced import delays, paced, percentiles
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import CHUNK, add_subscriptions
from signin_webhooks.cli.bench.sink import Sink
from signin_webhooks.cli.samples import sample_events

SUBSCRIPTIONS = 100
RATE = 200  # events a second, for publish-to-receipt


def deliver_small(places: Places, sink: Sink, n_events: int) -> list[Row]:
    db = places.new("deliver-small.db")
    contexts = [f"ctx_{i}" for i in range(SUBSCRIPTIONS)]
    add_subscriptions(db, [
        {"name": c, "url": sink.url, "context": c,
         "max_events": 1, "flush_interval": "0"}
        for c in contexts
    ])  # fmt: skip
    events = [
        {**e, "id": f"small-{i}"} for i, e in enumerate(sample_events(n_events, contexts=contexts))
    ]
    timed = [{**e, "id": f"timed-{i}"} for i, e in enumerate(events[: max(200, n_events // 20)])]
    chunks = [
        b"\n".join(msgspec.json.encode(e) for e in events[i : i + CHUNK])
        for i in range(0, n_events, CHUNK)
    ]
    sink.reset()
    with WebhookSystem(db, allow_private_networks=True) as system:
        settings = system.settings.show()
        start = time.time()
        for chunk in chunks:
            system.publish(chunk)
        ours = sink.wait_for(n_events, timeout=600) - start
        sink.reset(times=True)
        ours_delays = delays(sink, paced(timed, RATE, system.publish))

    # The baseline: the same bodies, as many connections at once to the one sink as ours opens.
    concurrency = min(settings.delivery_pool_size, settings.connections_per_host)
    with WebhookSystem(db, deliver=False) as system:
        bodies = [b"[" + r.delivered() + b"]" for r in system.replay() if r.id.startswith("small-")]
    http = urllib3.PoolManager(maxsize=concurrency)
    headers = {"Content-Type": "application/json"}

    def post(body: bytes) -> None:
        http.request("POST", sink.url, body=body, headers=headers)

    sink.reset()
    start = time.time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(post, bodies, chunksize=64))
    base = sink.wait_for(n_events, timeout=600) - start
    sink.reset(times=True)
    direct = delays(sink, paced(timed, RATE, lambda e: post(b"[" + msgspec.json.encode(e) + b"]")))
    (p50, p99), (b50, b99) = percentiles(ours_delays), percentiles(direct)
    note = f"{SUBSCRIPTIONS} subscriptions, max_events 1, flush_interval 0, {n_events} events"
    lat = f"{len(ours_delays)} of {len(timed)} events at {RATE}/s; baseline: a direct POST each"
    return [
        row("deliver-small", n_events / ours, "requests/s", n_events / base,
            f"{note}; baseline: urllib3 with {concurrency} connections at once"),
        row("deliver-small-p50", p50, "ms", b50, lat),
        row("deliver-small-p99", p99, "ms", b99, lat),
    ]  # fmt: skip
