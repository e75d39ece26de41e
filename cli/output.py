"""Printing: JSON for machines, aligned tables and `key: value` lines for people.

Whatever is printed for a person passes through `printable`: an endpoint's response, an event's
type or an operator's description may hold terminal escapes or line breaks, which must not reach
the terminal raw (to retitle or clear it, or to forge a line of output). JSON stays exact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click
import msgspec

_encode = msgspec.json.Encoder().encode
# C0 and C1 controls, DEL, and the Unicode line separators and direction overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str, *, lines: bool = False) -> str:
    """`text` with each control character written as its escape (`\\x1b`, `\\n`); `lines`
    keeps line breaks, for a body shown line by line."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        if lines and char == "\n":
            return char
        code = ord(char)
        return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")

    return _CONTROL.sub(escape, text)


def echo(text: str = "", *, err: bool = False) -> None:
    """One line for a person, its control characters escaped."""
    click.echo(printable(text), err=err)


def echo_json(value: Any) -> None:
    click.echo(_encode(value).decode())


def echo_fields(fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        echo(f"{key}: {shown}")


def echo_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    text = [[str(h).upper() for h in headers]] + [
        ["-" if v is None else printable(str(v)) for v in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]
    for row in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
