"""Hostile input: whatever a publisher or an operator sends is either taken whole or refused
with a clear report, and a refusal leaves the log exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from click.testing import Result
from hypothesis import event, settings
from hypothesis import strategies as st

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import CATALOGUE, EVENT_TYPES
from tests.helpers import assert_reported, invoke

ASSIGNED = {"id", "occurred_at", "sequence", "recorded_at"}


ENVELOPE = {"type", "organization_id", "context_id", *ASSIGNED}


PRIMER = {
    "id": "primer",
    "type": "signin.dhcp.granted",
    "organization_id": "org_acme",
    "context_id": "ctx_lobby",
    "mac": "3c:22:fb:10:aa:01",
    "ip": "10.20.0.17",
}


PUBLIC_ADDRESS = "93.184.216.34"


BASE = ["--name", "CRM", "--url", f"https://{PUBLIC_ADDRESS}/hook", "--context", "ctx_lobby"]


EXAMPLES = settings(max_examples=150, deadline=None)


def cli(db: Path, *args: str, input: bytes | None = None) -> Result:
    return invoke("--db", str(db), *args, input=input)


def replayed_lines(db: Path, *args: str) -> list[bytes]:
    """`replay` output split on newlines only: U+2028 or U+0085 inside a string is no line end."""
    result = cli(db, "replay", *args)
    assert result.exit_code == 0, result.stderr
    return [line for line in result.stdout_bytes.split(b"\n") if line]


def assert_refused(result: Result, *, one_line: bool = False) -> list[str]:
    """Exit 2, nothing on stdout, every stderr line prefixed, never a traceback."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = assert_reported(result.stderr)
    if one_line:
        assert len(lines) == 1, result.stderr
    return lines


def log_of(db: Path) -> list[bytes]:
    """Every record of the log, internal ones included, as `replay --all` prints it."""
    with WebhookSystem(db, deliver=False) as system:
        return [record.replayed() for record in system.replay(internal=True)]


@contextlib.contextmanager
def primed_db() -> Iterator[Path]:
    """A fresh database holding one event, so that 'nothing appended' is a real comparison."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "hooks.db"
        with WebhookSystem(db, deliver=False) as system:
            system.publish(PRIMER)
        yield db


def spelled(text: str | bytes) -> Any:
    """JSON read with every number kept as it is spelled, so `1.50` and `1.5` differ."""
    return json.loads(
        text,
        parse_int=lambda s: ("number", s),
        parse_float=lambda s: ("number", s),
        parse_constant=lambda s: ("number", s),
    )


def sent_objects(data: bytes) -> list[Any]:
    """What the publisher sent, read without the product: an object, an array, or NDJSON."""
    text = data.decode("utf-8").lstrip(" \t\r\n\ufeff")
    try:
        whole = spelled(text)
    except ValueError:
        return [spelled(line) for line in text.split("\n") if line.strip()]
    return whole if isinstance(whole, list) else [whole]


def appended(sent: list[Any]) -> list[dict[str, Any]]:
    """The objects a call appends: a repeated id within the call is a duplicate of the first."""
    seen, kept = set(), []
    for obj in sent:
        if "id" in obj:
            if obj["id"] in seen:
                continue
            seen.add(obj["id"])
        kept.append(obj)
    return kept


def assert_replayed_intact(sent: list[dict[str, Any]], replayed: list[dict[str, Any]]) -> None:
    """Each replayed event is the published object, field for field and number for number,
    plus only the fields the log assigns."""
    assert len(replayed) == len(sent)
    for obj, got in zip(sent, replayed, strict=True):
        assert {k: v for k, v in got.items() if k in obj} == obj
        assert {"sequence", "recorded_at"} <= set(got) - set(obj) <= ASSIGNED


def take_or_refuse_via_cli(data: bytes) -> None:
    """The oracle for one publish through the command line."""
    with primed_db() as db:
        before = log_of(db)
        result = cli(db, "publish", "--json", input=data)
        if result.exit_code != 0:
            event("refused")
            assert_refused(result)
            assert log_of(db) == before
            return
        event("accepted")
        assert "Traceback" not in result.stderr
        report = json.loads(result.stdout)
        sent = sent_objects(data)
        expected = appended(sent)
        assert report["appended"] == len(expected)
        assert report["duplicates"] == len(sent) - len(expected)
        lines = replayed_lines(db, "--after-sequence", "1")
        assert_replayed_intact(expected, [spelled(line) for line in lines])


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


some_text = st.text(min_size=1, max_size=40)


event_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,128}", fullmatch=True)


zones = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)


times = st.datetimes(
    min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=zones
).map(dt.datetime.isoformat)


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """A valid event of any type, perhaps with its own id and time, and random extra fields."""
    kind = draw(st.sampled_from(EVENT_TYPES))
    required = CATALOGUE[kind][1]
    obj: dict[str, Any] = {
        "type": kind,
        "organization_id": draw(some_text),
        "context_id": draw(some_text),
        **{field: draw(some_text) for field in required},
    }
    if draw(st.booleans()):
        obj["id"] = draw(event_ids)
    if draw(st.booleans()):
        obj["occurred_at"] = draw(times)
    extra_keys = st.text(max_size=12).filter(lambda k: k not in ENVELOPE and k not in required)
    extras = draw(st.dictionaries(extra_keys, json_values, max_size=6))
    return {**obj, **extras}


@st.composite
def tampered_events(draw: st.DrawFn) -> Any:
    """A valid event with a few fields dropped or replaced by anything at all."""
    obj = draw(valid_events())
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        key = draw(st.sampled_from(sorted(set(obj) | ENVELOPE)))
        if key in obj and draw(st.booleans()):
            del obj[key]
        else:
            obj[key] = draw(json_values)
    return obj


def encoded(objects: list[Any], style: str, framing: str) -> bytes:
    dump = {
        "compact": lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False),
        "ascii": lambda o: json.dumps(o, separators=(",", ":")),
        "spaced": lambda o: json.dumps(o),
        "pretty": lambda o: json.dumps(o, indent=2, ensure_ascii=False),
    }[style]
    if framing == "object":
        return dump(objects[0]).encode()
    if framing == "array":
        return dump(objects).encode()
    return "\n".join(dump(o).replace("\n", " ") for o in objects).encode() + b"\n"


styles = st.sampled_from(["compact", "ascii", "spaced", "pretty"])


framings = st.sampled_from(["object", "array", "ndjson"])


@st.composite
def publish_inputs(draw: st.DrawFn) -> bytes:
    objects = draw(st.lists(tampered_events() | json_values, min_size=1, max_size=4))
    return encoded(objects, draw(styles), draw(framings))


@st.composite
def mangled_bytes(draw: st.DrawFn) -> bytes:
    """Valid input with bytes flipped, cut out or slipped in."""
    events = draw(st.lists(valid_events(), min_size=1, max_size=3))
    data = bytearray(encoded(events, "compact", draw(framings)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        match draw(st.sampled_from(["flip", "cut", "insert"])):
            case "flip" if at < len(data):
                data[at] = draw(st.integers(min_value=0, max_value=255))
            case "cut":
                del data[at : at + draw(st.integers(min_value=1, max_value=8))]
            case _:
                data[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(data)
