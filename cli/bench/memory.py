"""memory: peak RSS of a running system with many idle subscriptions, and with a backlog, each
measured in a process of its own beside the same system with nothing to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from signin_webhooks.cli.bench.rows import Row, row
from signin_webhooks.cli.bench.setup import add_subscriptions, publish_many

# Starts the system, waits until everything in the log is routed, prints peak RSS in MB. VmHWM,
# not ru_maxrss: Linux carries ru_maxrss over exec, so a child would inherit the parent's peak.
_CHILD = """
import sys
from signin_webhooks.actors import WebhookSystem
with WebhookSystem(sys.argv[1], allow_private_networks=True) as system:
    system.routed(timeout=600)
    status = open("/proc/self/status").read()
print(int(status.split("VmHWM:")[1].split()[0]) / 1024)
"""


def peak_rss(db: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _subs(n: int, url: str, *, enabled: bool = True) -> list[dict[str, object]]:
    return [
        {"name": f"s{i}", "url": url, "scope": "context", "scope_id": f"ctx_{i}",
         "enabled": enabled}
        for i in range(n)
    ]  # fmt: skip


def memory(folder: Path, n_subs: int, backlog_small: int, backlog_large: int) -> list[Row]:
    empty = folder / "memory-empty.db"
    add_subscriptions(empty, [])
    base = peak_rss(empty)

    idle = folder / "memory-idle.db"
    add_subscriptions(idle, _subs(n_subs, "https://hooks.example.com/in"))
    idle_rss = peak_rss(idle)

    # A backlog: disabled subscriptions keep batching what they take, and send nothing.
    rss = {}
    for size in (backlog_small, backlog_large):
        db = folder / f"memory-backlog-{size}.db"
        add_subscriptions(db, _subs(100, "https://hooks.example.com/in", enabled=False))
        publish_many(db, size, [f"ctx_{i}" for i in range(100)])
        rss[size] = peak_rss(db)
    return [
        row(f"memory-{n_subs}-subscriptions", idle_rss, "MB", base,
            "peak RSS, idle; baseline: the same system with no subscription"),
        row(f"memory-backlog-{backlog_large}", rss[backlog_large], "MB", rss[backlog_small],
            f"peak RSS, 100 subscriptions; baseline: a backlog of {backlog_small}"),
    ]  # fmt: skip
