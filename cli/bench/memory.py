"""memory: peak RSS of a running system with many idle subscriptions, and with a backlog, each
measured in a process of its own beside the same system with nothing to do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from signin_webhooks.cli.bench.places import Places
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


def peak_rss(db: str | Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(db)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def _subs(n: int, url: str, *, enabled: bool = True) -> list[dict[str, object]]:
    return [
        {"name": f"s{i}", "url": url, "context": f"ctx_{i}", "enabled": enabled}
        for i in range(n)
    ]  # fmt: skip


def memory(places: Places, n_subs: int, backlog_small: int, backlog_large: int) -> list[Row]:
    empty = places.new("memory-empty.db")
    add_subscriptions(empty, [])
    base = peak_rss(empty)

    idle = places.new("memory-idle.db")
    add_subscriptions(idle, _subs(n_subs, "https://hooks.example.com/in"))
    idle_rss = peak_rss(idle)

    # A backlog: disabled subscriptions keep batching what they take, and send nothing.
    rss = {}
    for size in (backlog_small, backlog_large):
        db = places.new(f"memory-backlog-{size}.db")
        add_subscriptions(db, _subs(100, "https://hooks.example.com/in", enabled=False))
        publish_many(db, size, [f"ctx_{i}" for i in range(100)])
        rss[size] = peak_rss(db)
    return [
        row(f"memory-{n_subs}-subscriptions", idle_rss, "MB", base,
            "peak RSS, idle; baseline: the same system with no subscription"),
        row(f"memory-backlog-{backlog_large}", rss[backlog_large], "MB", rss[backlog_small],
            f"peak RSS, 100 subscriptions; baseline: a backlog of {backlog_small}"),
    ]  # fmt: skip


# One `publish FILE` from the command line, then its peak RSS in MB.
_PUBLISH_CHILD = """
import sys
from signin_webhooks.cli import main
try:
    main(sys.argv[1:])
finally:
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) / 1024, file=sys.stderr)
"""


def _ndjson(path: Path, n: int) -> int:
    """`n` events of 134 bytes a line, as a publisher's bulk export would hold them."""
    with path.open("wb") as out:
        for i in range(n):
            out.write(
                b'{"type":"signin.session.created","organization_id":"org_acme",'
                b'"context_id":"ctx_lobby","session_id":"ses_%07d","id":"evt-%07d"}\n' % (i, i)
            )
    return path.stat().st_size


def _publish_peak(db: str | Path, source: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _PUBLISH_CHILD, "--db", str(db), "publish", str(source)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stderr.strip().splitlines()[-1])


def publish_memory(places: Places, small: int, large: int) -> Row:
    peaks, size = {}, 0
    for n in (small, large):
        source = places.folder / f"publish-{n}.ndjson"
        size = _ndjson(source, n)
        peaks[n] = _publish_peak(places.new(f"publish-memory-{n}.db"), source)
        source.unlink()
    note = (
        f"peak RSS of one `publish` of {large:,} NDJSON events ({size / 1e6:.0f} MB);"
        f" baseline: the same of {small:,}"
    )
    return row(f"publish-memory-{large}", peaks[large], "MB", peaks[small], note)
