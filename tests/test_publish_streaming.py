"""A large input is read in blocks and validated in a process of its own; what it yields, and
how it refuses, is exactly what validating in this process gives."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from typing import Any

import psutil
import pytest

from signin_webhooks.eventstore import InvalidInput, SigninWebhooksError, read_events, validator
from signin_webhooks.eventstore.publishing import MAX_INPUT_BYTES, SMALL_INPUT
from tests.helpers import event

pytestmark = pytest.mark.skipif(not validator.available(), reason="one core: nothing runs aside")


def dhcp(n: int, **fields: Any) -> bytes:
    """The n-th DHCP event as one line of JSON."""
    return json.dumps({**event(n, "signin.dhcp.granted"), **fields}).encode()


def large(count: int = 8000, *, bad: dict[int, dict[str, Any]] | None = None) -> bytes:
    """NDJSON past SMALL_INPUT, with a byte order mark, blank lines and CRLF line ends."""
    lines = [b"\xef\xbb\xbf", b"", b"  "]
    lines += [dhcp(n, **(bad or {}).get(n, {})) + b"\r" for n in range(count)]
    data = b"\n".join(lines) + b"\n"
    assert len(data) > SMALL_INPUT
    return data


def both(data: bytes, **options: Any) -> list[list[Any]]:
    """The chunks read aside and in this process, which must agree."""
    aside = list(read_events(io.BytesIO(data), aside=True, **options))
    here = list(read_events(io.BytesIO(data), aside=False, **options))
    assert aside == here
    return aside


def refusals(data: bytes, **options: Any) -> str:
    messages = []
    for aside in (True, False):
        with pytest.raises(InvalidInput) as refused:
            list(read_events(io.BytesIO(data), aside=aside, **options))
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    return messages[0]


def test_a_large_input_read_aside_gives_the_same_events_with_their_lines():
    chunks = both(large(), chunk=3000)

    assert [len(c) for c in chunks] == [3000, 3000, 2000]
    first, last = chunks[0][0], chunks[-1][-1]
    assert (first.where, last.where) == ("line 4", "line 8003")
    assert first.body == dhcp(0).replace(b", ", b",").replace(b": ", b":")


def test_an_invalid_event_deep_in_a_large_input_is_named_by_its_line():
    message = refusals(large(bad={6500: {"ip": ""}, 6510: {"mac": 7}}), chunk=3000)

    assert message.splitlines() == [
        "line 6504 (signin.dhcp.granted): field 'ip' must be a non-empty string",
        "line 6514 (signin.dhcp.granted): field 'mac': Expected str, got int",
        "nothing was appended",
    ]


def test_an_invalid_event_in_an_early_chunk_stops_the_reading():
    message = refusals(large(bad={10: {"type": "nope"}}), chunk=3000)

    assert message.splitlines()[0].startswith("line 14: field 'type' is 'nope'")
    assert message.endswith("nothing was appended; the rest of the input was not checked")


def test_a_large_input_over_the_limit_is_refused_aside_too():
    data = large()

    message = refusals(data, limit=len(data) - 1)

    assert message.startswith(f"input is over the {len(data) - 1} byte limit of one publish")


def test_a_large_array_is_read_aside():
    items = [json.loads(dhcp(n)) for n in range(6000)]
    data = json.dumps(items).encode()

    chunks = both(data)

    assert sum(map(len, chunks)) == 6000
    assert chunks[0][5].where == "index 5"


class Unreadable(io.RawIOBase):
    """A stream that fails after its first block, as a disk or a pipe may."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.data:
            raise OSError(5, "Input/output error")
        size = min(len(buffer), len(self.data))
        buffer[:size], self.data = self.data[:size], self.data[size:]
        return size


def test_an_input_that_fails_while_read_aside_is_one_clear_error():
    with pytest.raises(InvalidInput, match="cannot read the input: Input/output error"):
        list(read_events(io.BufferedReader(Unreadable(large()[: SMALL_INPUT + 10]))))


def test_a_validating_process_that_dies_is_a_clear_error_and_nothing_more_is_read():
    chunks = read_events(io.BytesIO(large(20_000)), chunk=1000)
    first = next(chunks)
    (child,) = [p for p in psutil.Process().children() if validator.__name__ in p.cmdline()]
    child.send_signal(signal.SIGKILL)

    with pytest.raises(SigninWebhooksError, match="the process validating the input ended"):
        list(chunks)
    assert len(first) == 1000


def _validated_output(source: Any, *, stops: int) -> bytes:
    """What the validating process writes for `source`, stopped and continued `stops` times
    while it waits to write a chunk into a full pipe."""
    command = [sys.executable, "-m", validator.__name__, str(MAX_INPUT_BYTES), "3000"]
    with source.open("rb") as stdin:
        child = subprocess.Popen(command, stdin=stdin, stdout=subprocess.PIPE)
    assert child.stdout is not None
    try:
        first = os.read(child.stdout.fileno(), 1)  # it writes now: a chunk of ~700 KB
        for _ in range(stops):  # that nobody reads, so it waits in that write
            child.send_signal(signal.SIGSTOP)
            os.waitpid(child.pid, os.WUNTRACED)
            child.send_signal(signal.SIGCONT)
        return first + child.stdout.read()
    finally:
        child.kill()
        child.wait()


def test_a_validating_process_stopped_and_continued_mid_write_sends_every_byte(tmp_path):
    source = tmp_path / "input.ndjson"
    source.write_bytes(large(30_000))

    assert _validated_output(source, stops=200) == _validated_output(source, stops=0)
