"""Progress of long work (`publish` of a large file, `recover` of a long window), drawn on stderr
when stderr is a terminal, and nothing at all when it is not: a log or a pipe gets only the
report."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Callable, Iterator
from typing import BinaryIO

import click

from signin_webhooks.eventstore import parse_time

LARGE_FILE = 1 << 20  # a file smaller than this is published before a bar could say anything


def on_terminal() -> bool:
    return sys.stderr.isatty()


class CountingReader:
    """A binary file whose reads advance a progress bar by the bytes read."""

    def __init__(self, file: BinaryIO, advance: Callable[[int], None]) -> None:
        self.file = file
        self.advance = advance

    def read(self, size: int = -1) -> bytes:
        data = self.file.read(size)
        self.advance(len(data))
        return data


@contextlib.contextmanager
def reading(file: BinaryIO, label: str) -> Iterator[BinaryIO]:
    """`file`, counting its bytes on a bar when stderr is a terminal and the file is large."""
    try:
        size = os.fstat(file.fileno()).st_size
    except (OSError, AttributeError, ValueError):
        size = 0
    if not on_terminal() or size < LARGE_FILE:
        yield file
        return
    with click.progressbar(length=size, label=label, file=sys.stderr) as bar:
        yield CountingReader(file, bar.update)  # type: ignore[misc]  # reads as a BinaryIO


@contextlib.contextmanager
def through_window(
    since: str, until: str | None, now: dt.datetime, label: str
) -> Iterator[Callable[[str], None] | None]:
    """A callback given the recorded_at reached in the window [since, until or now), moving a bar
    through the window's time; None when stderr is not a terminal."""
    if not on_terminal():
        yield None
        return
    start = parse_time(since, what="since", now=now)
    end = now if until is None else parse_time(until, what="until", now=now)
    length = max(1, int((end - start).total_seconds()))
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        reached = 0

        def advance(recorded_at: str) -> None:
            nonlocal reached
            at = min(length, int((parse_time(recorded_at) - start).total_seconds()))
            if at > reached:
                bar.update(at - reached)
                reached = at

        yield advance
        bar.update(length - reached)  # the whole window is read
