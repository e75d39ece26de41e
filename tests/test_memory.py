"""Pending events stay in the log, not in memory: with 1,000 subscriptions, a running system's
peak RSS with a backlog of 100,000 events is within a few MB of its peak with 10,000.

Each system runs in a child process of its own, so that neither the test process nor the other
measurement pollutes the figure; `pytest -s` prints both."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.deliveries import BatchSealed
from tests.endpoint import closed_port_url
from tests.helpers import facts

SUBSCRIPTIONS = 1000
SMALL, LARGE = 10_000, 100_000
ALLOWED_GROWTH_MB = 20.0

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux)"
)

# Starts the system on a backlog published before it, waits until it has settled (every event
# routed, every batch sealed that fills, every first attempt made and its retry an hour away),
# then prints its peak RSS in MB. VmHWM, not ru_maxrss, which Linux carries over exec.
_CHILD = """
import sys
from signin_webhooks import WebhookSystem

with WebhookSystem(sys.argv[1], allow_private_networks=True) as system:
    system.settled(timeout=120)
    status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def backlog(db: Path, events: int, **batching: Any) -> None:
    """1,000 subscriptions, each on its own context, whose endpoint refuses every connection,
    and `events` published before any system runs, spread evenly over their contexts."""
    url = closed_port_url()
    with WebhookSystem(db, deliver=False, allow_private_networks=True) as system:
        for i in range(SUBSCRIPTIONS):
            system.subscriptions.create(
                name=f"s{i}", url=url, context=f"ctx-{i}", retry_schedule="1h", **batching
            )
        for start in range(0, events, 10_000):
            system.publish([
                {"type": "signin.session.created", "organization_id": "org-1",
                 "context_id": f"ctx-{n % SUBSCRIPTIONS}", "session_id": f"s-{n}"}
                for n in range(start, start + 10_000)
            ])  # fmt: skip


def peak_rss_mb(db: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db)], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    return float(done.stdout.split()[0])


def sealed_counts(db: Path) -> list[int]:
    with WebhookSystem(db, deliver=False) as system:
        return [sealed.count for sealed in facts(system, BatchSealed)]


class MemoryGrew(AssertionError):
    """The larger backlog's peak is more than ALLOWED_GROWTH_MB above the smaller one's."""


def assert_flat(peaks: dict[int, float]) -> None:
    growth = peaks[LARGE] - peaks[SMALL]
    if growth > ALLOWED_GROWTH_MB:
        raise MemoryGrew(
            f"peak RSS {peaks[SMALL]:.1f} MB with {SMALL:,} events pending, {peaks[LARGE]:.1f} MB"
            f" with {LARGE:,}: {growth:.1f} MB more (allowed {ALLOWED_GROWTH_MB:.0f})"
        )


def measure(tmp_path: Path, **batching: Any) -> dict[int, float]:
    peaks = {}
    for events in (SMALL, LARGE):
        db = tmp_path / f"backlog-{events}.db"
        started = time.monotonic()
        backlog(db, events, **batching)
        peaks[events] = peak_rss_mb(db)
        print(
            f"\n{batching or 'default batching'}: backlog {events:,} events,"
            f" {SUBSCRIPTIONS:,} subscriptions: peak RSS {peaks[events]:.1f} MB"
            f" ({time.monotonic() - started:.1f} s)"
        )
    return peaks


def test_a_backlog_waiting_in_open_batches_does_not_grow_memory(tmp_path):
    # The default batch settings (20,000 events, 20 minutes): 10 or 100 events a subscription
    # wait in the log; the batcher holds only their positions.
    assert_flat(measure(tmp_path))


@pytest.mark.soak  # a minute, and the line it draws is not held yet: run with -m soak
@pytest.mark.xfail(
    strict=False,  # the growth is near the line and moves with the machine's load: either way
    raises=MemoryGrew,  # the test fails on anything else, such as a backlog not routed whole
    reason="9,000 more sealed batches queued behind failing deliveries cost ~30 MB of RSS, of "
    "which Python objects are ~7 MB (queued deliveries, at most 32 per subscription, without "
    "their event ranges); the rest is allocator and SQLite memory kept after the burst of seals",
)
def test_a_backlog_of_sealed_batches_behind_a_failing_endpoint_does_not_grow_memory(tmp_path):
    # Batches of 10: each subscription's first batch fails to connect and waits an hour for its
    # retry, and the rest of its backlog (0 or 9 batches) queues behind it, sealed in the log.
    peaks = measure(tmp_path, max_events=10)
    counts = sealed_counts(tmp_path / f"backlog-{LARGE}.db")
    assert (len(counts), sum(counts)) == (LARGE // 10, LARGE)  # the system did route it all
    assert_flat(peaks)
