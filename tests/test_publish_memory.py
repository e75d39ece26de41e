"""A publish streams its input: one `publish` of 200,000 NDJSON events peaks within a few MB of
one of 20,000, and an input over the limits is refused while it is read, not after.

Each publish runs in a child process of its own, so that the figure is that command's alone;
`pytest -s` prints them. `signin-webhooks bench --only publish-memory` gives the figure for
1,000,000 events (134 MB)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import MAX_INPUT_BYTES

SMALL, LARGE = 20_000, 200_000
ALLOWED_GROWTH_MB = 20.0
STREAMED_PEAK_MB = 100.0

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc (Linux)"
)

# The command line in this process, then its peak RSS in MB on stderr's last line. VmHWM, not
# ru_maxrss, which Linux carries over exec.
_CHILD = """
import sys
from signin_webhooks.cli import main
try:
    main(sys.argv[1:])
finally:
    status = open("/proc/self/status").read()
    print(int(status.split("VmHWM:")[1].split()[0]) / 1024, file=sys.stderr)
"""


def ndjson(path: Path, events: int) -> Path:
    with path.open("wb") as out:
        for n in range(events):
            out.write(
                b'{"type":"signin.session.created","organization_id":"org_acme",'
                b'"context_id":"ctx_lobby","session_id":"ses_%07d","id":"evt-%07d"}\n' % (n, n)
            )
    return path


def child(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def outcome(process: subprocess.Popen[bytes]) -> tuple[int, list[str], float]:
    """Exit code, the lines it reported, and its peak RSS in MB."""
    _, err = process.communicate(timeout=300)
    *lines, peak = err.decode().splitlines()
    return process.returncode, lines, float(peak)


def feed(process: subprocess.Popen[bytes], piece: bytes, limit: int) -> int:
    """Write `piece` to the child's stdin until `limit` bytes or until it stops reading."""
    written = 0
    assert process.stdin is not None
    try:
        while written < limit:
            process.stdin.write(piece)
            written += len(piece)
        process.stdin.close()
    except BrokenPipeError:
        pass  # it stopped reading
    process.stdin = None  # communicate() must not flush what the child will never read
    return written


def test_a_publish_of_many_ndjson_events_holds_one_chunk_in_memory(tmp_path):
    peaks = {}
    for events in (SMALL, LARGE):
        db = tmp_path / f"publish-{events}.db"
        source = ndjson(tmp_path / f"events-{events}.ndjson", events)
        process = child("--db", str(db), "publish", "--json", str(source))
        code, lines, peaks[events] = outcome(process)
        assert code == 0, lines
        print(f"\npublish of {events:,} NDJSON events: peak RSS {peaks[events]:.1f} MB")
        with WebhookSystem(db, deliver=False) as system:
            assert system.store.log.last_sequence() == events

    growth = peaks[LARGE] - peaks[SMALL]
    assert growth <= ALLOWED_GROWTH_MB, (
        f"peak RSS {peaks[SMALL]:.1f} MB publishing {SMALL:,} events, {peaks[LARGE]:.1f} MB"
        f" publishing {LARGE:,}: {growth:.1f} MB more (allowed {ALLOWED_GROWTH_MB:.0f})"
    )


def test_stdin_over_the_input_limit_is_refused_while_it_is_read(tmp_path):
    db = tmp_path / "hooks.db"
    process = child("--db", str(db), "publish")
    blank = b" " * (256 * 1024 - 1) + b"\n"  # whitespace lines: read, and hold no event

    written = feed(process, blank, MAX_INPUT_BYTES + 4 * len(blank))
    code, lines, peak = outcome(process)

    assert code == 2, lines
    assert lines == [
        "signin-webhooks: input is over the 512 MiB limit of one publish; split it into several"
        " publishes",
        "signin-webhooks: nothing was appended",
    ]
    assert written > MAX_INPUT_BYTES
    assert peak < STREAMED_PEAK_MB, f"peak RSS {peak:.1f} MB reading {written:,} bytes"


def test_an_endless_object_on_stdin_is_refused_at_the_event_size_limit(tmp_path):
    db = tmp_path / "hooks.db"
    process = child("--db", str(db), "publish")
    assert process.stdin is not None
    process.stdin.write(b'{"type":"signin.session.created","pad":"')

    written = feed(process, b"x" * 65536, 64 * 1024 * 1024)
    code, lines, peak = outcome(process)

    assert code == 2, lines
    assert lines[0] == "signin-webhooks: line 1: event is over the 256 KiB limit"
    assert written < 64 * 1024 * 1024  # it stopped reading long before the end
    assert peak < STREAMED_PEAK_MB
    with WebhookSystem(db, deliver=False) as system:
        assert system.store.log.last_sequence() == 0
