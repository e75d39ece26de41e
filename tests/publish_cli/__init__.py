"""`publish`, `replay` and `catalogue` as a person drives them, on real databases: files, and
PostgreSQL schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
from click.testing import Result

from signin_webhooks.eventstore import InternalEvent
from tests.helpers import event, invoke


class NoteRecorded(InternalEvent, frozen=True, tag="test.cli.note_recorded"):
    note: str
    secret: str = ""

    def redacted(self) -> NoteRecorded:
        return msgspec.structs.replace(self, secret="[redacted]")


def line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj).encode()


def cli(db: str | Path | None, *args: str, input: bytes | None = None, **kw: Any) -> Result:
    prefix = [] if db is None else ["--db", str(db)]
    return invoke(*prefix, *args, input=input, **kw)


def publish(db: str | Path, data: bytes, *args: str) -> dict[str, Any]:
    result = cli(db, "publish", "--json", *args, input=data)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def replay(db: str | Path, *args: str) -> list[dict[str, Any]]:
    result = cli(db, "replay", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(text) for text in result.stdout.splitlines()]


VALID = line(event(0))
