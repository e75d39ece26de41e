"""Printing: JSON for machines, aligned tables and `key: value` lines for people."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click
import msgspec

_encode = msgspec.json.Encoder().encode


def echo_json(value: Any) -> None:
    click.echo(_encode(value).decode())


def echo_fields(fields: Mapping[str, Any]) -> None:
    for key, value in fields.items():
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        click.echo(f"{key}: {shown}")


def echo_table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> None:
    text = [[str(h).upper() for h in headers]] + [
        ["-" if v is None else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in text) for i in range(len(headers))]
    for row in text:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
