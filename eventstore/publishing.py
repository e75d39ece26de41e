"""Reading what a publisher sends: one JSON object, a JSON array of objects, or NDJSON.

Events are validated and handed on a chunk at a time, so that a publish of millions of events
holds one chunk in memory, not the whole input. NDJSON is read a line at a time; an input of up
to SMALL_INPUT bytes, or a JSON array, is read whole (within MAX_INPUT_BYTES).
"""

from __future__ import annotations

import io
import itertools
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from signin_webhooks.eventstore.catalogue import (
    MAX_DEPTH,
    MAX_EVENT_BYTES,
    Published,
    reason,
    validate,
)
from signin_webhooks.eventstore.errors import InvalidInput, StoreError

MiB = 1024 * 1024
MAX_INPUT_BYTES = 512 * MiB
CHUNK_EVENTS = 10_000
_BLOCK = 1024 * 1024
SMALL_INPUT = 2 * MAX_EVENT_BYTES + 1024
MAX_REPORTED = 20
_WHITESPACE = b" \t\r\n\xef\xbb\xbf"
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW = msgspec.json.Decoder(msgspec.Raw)
_SPOOL_ENCODER = msgspec.msgpack.Encoder()
_SPOOL_DECODER = msgspec.msgpack.Decoder(list[Published])
_TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels of objects and arrays; flatten it"


def parse_events(data: bytes) -> list[Published]:
    """Every event of the input, validated; raises one error listing each invalid event."""
    return [event for chunk in read_events(data) for event in chunk]


def waits(source: bytes | BinaryIO) -> bool:
    """Whether reading `source` may wait on its writer: a stream that is not a regular file
    (stdin, a pipe, a socket). Bytes, a file on disk, or a reader without a descriptor (a
    BytesIO, a host program's object) are read as fast as they can be."""
    if isinstance(source, bytes):
        return False
    try:
        return not stat.S_ISREG(os.fstat(source.fileno()).st_mode)
    except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is a ValueError too
        return False


def read_ahead(chunks: Iterator[list[Published]]) -> Iterator[list[Published]]:
    """Every chunk validated before the first is handed on: one kept in memory, several
    spooled to a temporary file a chunk at a time. A publish takes the log's write lock once its
    first chunk is ready and holds it to the end of the input, so an input that may pause (a
    pipe) is read to its end first: its writer then holds up no other publish."""
    first = next(chunks, None)
    second = next(chunks, None)
    if first is None or second is None:
        return iter([] if first is None else [first])
    try:
        spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed once read back)
    except OSError as e:
        raise StoreError(_no_spool(e)) from None
    try:
        for chunk in itertools.chain([first, second], chunks):
            data = _SPOOL_ENCODER.encode(chunk)
            spool.write(len(data).to_bytes(8, "big") + data)
        spool.seek(0)
    except OSError as e:
        spool.close()
        raise StoreError(_no_spool(e)) from None
    except BaseException:
        spool.close()
        raise
    return _read_back(spool)


def _read_back(spool: BinaryIO) -> Iterator[list[Published]]:
    with spool:
        while size := int.from_bytes(spool.read(8), "big"):
            yield _SPOOL_DECODER.decode(spool.read(size))


def _no_spool(e: OSError) -> str:
    return (
        f"cannot keep the input in '{tempfile.gettempdir()}' until it ends: {e.strerror or e};"
        " free space there, set TMPDIR to another folder, or publish from a file"
    )


def read_events(
    source: bytes | BinaryIO,
    *,
    limit: int = MAX_INPUT_BYTES,
    chunk: int = CHUNK_EVENTS,
    aside: bool = True,
) -> Iterator[list[Published]]:
    """The input's events, validated, `chunk` at a time. At the first chunk holding an invalid
    event, raises one error listing that chunk's invalid events; nothing after it is read.
    `aside`: validate an input larger than SMALL_INPUT in a process of its own, where a second
    core can run it while the caller inserts the chunk before."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    head = _read_head(stream, limit)
    if aside and len(head) >= SMALL_INPUT:
        from signin_webhooks.eventstore import validator  # the child imports this module

        if validator.available():
            chunks = validator.validated_aside(head, stream, limit=limit, chunk=chunk)
            if chunks is not None:
                yield from chunks
                return
    text = head.lstrip(_WHITESPACE)
    skipped = head[: len(head) - len(text)].count(b"\n")
    if len(head) < SMALL_INPUT:
        framed = iter(_frame(text, skipped))
    elif text.startswith(b"["):
        framed = _array(text + _read_rest(stream, len(head), limit))
    else:
        framed = _lines(head, stream, limit)
    yield from _validated(framed, chunk)


def _read_head(stream: BinaryIO, limit: int) -> bytes:
    """Up to SMALL_INPUT bytes: enough to tell a small input from a stream."""
    parts, size = [], 0
    while size < SMALL_INPUT:
        part = _read(stream, SMALL_INPUT - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    head = b"".join(parts)
    if len(head) > limit:
        raise _over_limit(limit)
    return head


def _read_rest(stream: BinaryIO, taken: int, limit: int) -> bytes:
    rest = _read(stream, limit - taken + 1)
    if taken + len(rest) > limit:
        raise _over_limit(limit)
    return rest


def _read(stream: BinaryIO, size: int) -> bytes:
    try:
        return stream.read(size)
    except OSError as e:
        raise InvalidInput(f"cannot read the input: {e.strerror or e}") from None


def _over_limit(limit: int) -> InvalidInput:
    size = f"{limit // MiB} MiB" if limit % MiB == 0 else f"{limit} byte"
    return InvalidInput(
        f"input is over the {size} limit of one publish; split it into several publishes"
    )


def _validated(framed: Iterator[tuple[str, bytes]], chunk: int) -> Iterator[list[Published]]:
    events: list[Published] = []
    errors: list[str] = []
    taken = 0
    try:
        for where, raw in framed:
            taken += 1
            try:
                events.append(validate(raw, where))
            except InvalidInput as e:
                errors.append(str(e))
            if taken % chunk == 0:
                if errors:
                    break
                yield events
                events = []
    except InvalidInput as e:  # the input itself: over the limit, a line too long, not JSON
        errors.append(str(e))
    if not (taken or errors):
        raise InvalidInput("no events in the input; send a JSON object, a JSON array or NDJSON")
    if errors:
        shown = errors[:MAX_REPORTED]
        if len(errors) > MAX_REPORTED:
            shown.append(f"... and {len(errors) - MAX_REPORTED} more invalid events")
        more = "" if next(framed, None) is None else "; the rest of the input was not checked"
        raise InvalidInput("\n".join(shown) + "\nnothing was appended" + more)
    if events:
        yield events


def _frame(text: bytes, skipped_lines: int) -> list[tuple[str, bytes]]:
    """A small input, whole: one object, an array, or NDJSON."""
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"input is not UTF-8 (byte {e.start}); send UTF-8 JSON") from None
    if not text:
        raise InvalidInput("no events in the input; send a JSON object, a JSON array or NDJSON")
    if text.startswith(b"["):
        return list(_array(text))
    try:
        return [("event", bytes(_RAW.decode(text)))]
    except msgspec.DecodeError as e:
        error = e
    except RecursionError:
        raise InvalidInput(f"event: {_TOO_DEEP}") from None
    lines = [
        (f"line {n}", line)
        for n, line in enumerate(text.split(b"\n"), skipped_lines + 1)
        if line.strip()
    ]
    if "trailing characters" in str(error) or any(_is_json(line) for _, line in lines[:100]):
        return lines
    raise InvalidInput(f"input is not valid JSON ({reason(error)})")


def _array(text: bytes) -> Iterator[tuple[str, bytes]]:
    try:
        items = _RAW_LIST.decode(text)
    except msgspec.DecodeError as e:
        raise InvalidInput(f"input is not a valid JSON array ({reason(e)})") from None
    except RecursionError:
        raise InvalidInput(f"input is {_TOO_DEEP}") from None
    if not items:
        raise InvalidInput("the input holds an empty list; send at least one event")
    return ((f"index {i}", bytes(item)) for i, item in enumerate(items))


def _lines(head: bytes, stream: BinaryIO, limit: int) -> Iterator[tuple[str, bytes]]:
    """NDJSON a line at a time: the lines of `head`, then of the rest of the stream, read in
    blocks and split (a readline per event would cost as much as a tenth of validating it)."""
    cap = MAX_EVENT_BYTES + 2  # room for "\r" after an event of the largest size
    pending = head.lstrip(_WHITESPACE)  # a byte order mark, and blank lines before the first
    total, number = len(head), head[: len(head) - len(pending)].count(b"\n")
    while True:
        block = _read(stream, _BLOCK)
        total += len(block)
        if total > limit:
            raise _over_limit(limit)
        lines = (pending + block).split(b"\n") if block else [pending]
        pending = lines.pop() if block else b""
        for line in lines:
            number += 1
            if len(line) > cap:
                raise InvalidInput(f"line {number}: event is over the 256 KiB limit")
            if text := line.strip():
                yield f"line {number}", text
        if len(pending) > cap:
            raise InvalidInput(f"line {number + 1}: event is over the 256 KiB limit")
        if not block:
            return


def _is_json(line: bytes) -> bool:
    try:
        _RAW.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return False
    return True
