"""Validating a large input in a process of its own, so that it runs on a second core while this
process inserts the chunk before: validation holds the interpreter lock, and measured no faster
in a thread. The child reads the whole input from its stdin, as `read_events` would, and sends
each validated chunk back as one msgpack frame; the first invalid chunk ends it with the error.

    python -m signin_webhooks.eventstore.validator LIMIT CHUNK  < input  > frames
"""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import BinaryIO

import msgspec

from signin_webhooks.eventstore.catalogue import Published
from signin_webhooks.eventstore.errors import InvalidInput, SigninWebhooksError

_HEADER = struct.Struct(">cI")  # kind, payload length
_CHUNK, _REFUSED, _DONE = b"C", b"E", b"D"
_COPY_BLOCK = 1024 * 1024
_PIPE_BYTES = 1024 * 1024  # Linux's default cap for an unprivileged process
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(list[Published]).decode


def available() -> bool:
    """Whether a second process can help: a second core, and an interpreter to start."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return bool(sys.executable) and (cores or 1) > 1


def validated_aside(
    head: bytes, rest: BinaryIO, *, limit: int, chunk: int
) -> Iterator[list[Published]] | None:
    """The events of `head` followed by `rest`, validated in a child process; None if the child
    cannot be started (validate in this process then)."""
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", __name__, str(limit), str(chunk)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, sys.path))},
        )
    except OSError:
        return None
    for pipe in (child.stdin, child.stdout):
        _widen(pipe.fileno())  # type: ignore[union-attr]  # both are pipes: opened with PIPE
    return _frames(child, head, rest)


def _widen(fd: int) -> None:
    """Let a pipe hold _PIPE_BYTES instead of 64 KiB where the system allows it (Linux): each
    chunk then crosses in a few writes, not in sixty-odd hand-offs between the processes."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _frames(
    child: subprocess.Popen[bytes], head: bytes, rest: BinaryIO
) -> Iterator[list[Published]]:
    failure: list[BaseException] = []
    feeder = threading.Thread(
        target=_feed, args=(child.stdin, head, rest, failure), name="publish-input", daemon=True
    )
    feeder.start()
    out = child.stdout
    assert out is not None
    try:
        while True:
            header = out.read(_HEADER.size)
            kind, size = _HEADER.unpack(header) if len(header) == _HEADER.size else (None, 0)
            payload = out.read(size)
            if kind is None or len(payload) < size:
                if failure:
                    raise failure[0]
                raise _died(child)
            if kind == _CHUNK:
                yield _decode(payload)
            elif kind == _REFUSED:
                if failure:  # the input could not be read: say that, not what the child saw
                    raise failure[0]
                raise InvalidInput(payload.decode())
            else:
                return
    finally:
        child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            stream.close()  # type: ignore[union-attr]  # both are pipes: opened with PIPE
        feeder.join()


def write_all(fd: int, data: bytes) -> None:
    """Write every byte to a pipe. A write that waits on a full pipe may return having written
    only part when the process is stopped and continued (SIGSTOP and SIGCONT, a debugger, a
    profiler); a buffered file object then drops the rest, so the pipe's descriptor is
    written to directly, again from where the last write ended."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _feed(pipe: BinaryIO, head: bytes, rest: BinaryIO, failure: list[BaseException]) -> None:
    """Copy the input into the child; reading and writing release the interpreter lock."""
    try:
        write_all(pipe.fileno(), head)
        while block := rest.read(_COPY_BLOCK):
            write_all(pipe.fileno(), block)
    except BrokenPipeError:
        pass  # the child stopped reading: it refused the input, or it was ended
    except OSError as e:
        failure.append(InvalidInput(f"cannot read the input: {e.strerror or e}"))
    finally:
        with contextlib.suppress(BrokenPipeError):
            pipe.close()


def _died(child: subprocess.Popen[bytes]) -> SigninWebhooksError:
    code = child.wait()
    assert child.stderr is not None, "opened with stderr=PIPE"
    errors = child.stderr.read().decode(errors="replace").strip().splitlines()
    last = errors[-1] if errors else "no message"
    return SigninWebhooksError(
        f"the process validating the input ended unexpectedly (exit {code}: {last});"
        " nothing was appended"
    )


def main(limit: int, chunk: int) -> None:
    from signin_webhooks.eventstore.publishing import read_events

    out = sys.stdout.fileno()
    try:
        for events in read_events(sys.stdin.buffer, limit=limit, chunk=chunk, aside=False):
            payload = _encode(events)
            write_all(out, _HEADER.pack(_CHUNK, len(payload)) + payload)
    except InvalidInput as e:
        message = str(e).encode()
        write_all(out, _HEADER.pack(_REFUSED, len(message)) + message)
    else:
        write_all(out, _HEADER.pack(_DONE, 0))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
