"""The Sign In event catalogue and the validation of published events.

A published event is kept as the bytes it was published with (compacted, never re-encoded), so
that consumers receive every field exactly as sent. Validation decodes a typed view beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Union

import msgspec

from signin_webhooks.eventstore.errors import InvalidInput

MAX_EVENT_BYTES = 256 * 1024
MAX_DEPTH = 64  # objects and arrays, the event object itself the first level
_EXAMPLE = "e.g. 2026-01-31T09:00:00Z"

#: type -> (when it is emitted, required fields besides the envelope)
CATALOGUE: dict[str, tuple[str, tuple[str, ...]]] = {
    "signin.session.created": (
        "A guest started a new sign-in on the Captive Portal.",
        ("session_id",),
    ),
    "signin.session.resumed": (
        "A returning guest resumed a previous session on the same device.",
        ("session_id",),
    ),
    "signin.session.requested": (
        "The sign-in requires approval and is waiting.",
        ("session_id",),
    ),
    "signin.session.approved": ("An approval was granted.", ("session_id",)),
    "signin.session.verified": ("The guest completed their verification step.", ("session_id",)),
    "signin.session.denied": ("The sign-in was denied.", ("session_id",)),
    "signin.session.revoked": ("An active session was revoked.", ("session_id",)),
    "signin.arenasession.login": (
        "A device joined the venue's network and an arena session was created.",
        ("arena_session_id", "mac"),
    ),
    "signin.arenasession.resumed": (
        "A device with an active arena session re-associated.",
        ("arena_session_id", "mac"),
    ),
    "signin.dhcp.granted": ("A DHCP lease was granted to a device.", ("mac", "ip")),
    "signin.dhcp.expired": ("The DHCP session ended.", ("mac", "ip")),
    "signin.configuration.audit": (
        "A configuration change was made inside this Sign-In Context.",
        ("entity_type", "entity_id", "action"),
    ),
}
EVENT_TYPES: tuple[str, ...] = tuple(CATALOGUE)

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]
EventId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9._:-]{1,128}\Z")]


class Envelope(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """The typed view of the fields every event carries; other fields stay in the raw bytes.
    `sequence` and `recorded_at` are here only to notice a publisher sending them."""

    organization_id: NonEmpty
    context_id: NonEmpty
    id: EventId | msgspec.UnsetType = msgspec.UNSET
    occurred_at: dt.datetime | msgspec.UnsetType = msgspec.UNSET
    sequence: Any = msgspec.UNSET
    recorded_at: Any = msgspec.UNSET


def _typed_view(kind: str, required: tuple[str, ...]) -> type[Envelope]:
    fields = [(name, NonEmpty) for name in required]
    view = msgspec.defstruct(kind, fields, bases=(Envelope,), tag=kind, frozen=True, kw_only=True)
    assert issubclass(view, Envelope)  # defstruct is typed to return any Struct
    return view


_TYPED = msgspec.json.Decoder(
    Union[tuple(_typed_view(kind, req) for kind, (_, req) in CATALOGUE.items())]  # noqa: UP007
)
_ANY = msgspec.json.Decoder()
_ENCODE = msgspec.json.Encoder().encode
_SORTED = msgspec.json.Encoder(order="sorted").encode  # canonical: key order aside, exact


class Published(msgspec.Struct, frozen=True, array_like=True):
    """One validated event: its compact published bytes and the envelope fields read from them.
    A Struct rather than a dataclass: a bulk publish makes one per event, and a frozen
    dataclass takes a microsecond to build. Array-like, as the validating process sends it."""

    where: str
    body: bytes
    type: str
    organization_id: str
    context_id: str
    id: str | None
    occurred_at: str | None


def validate(raw: bytes, where: str) -> Published:
    """Validate one published JSON object; `where` names it in errors ("line 3", "index 0")."""
    if len(raw) > MAX_EVENT_BYTES:
        raise InvalidInput(f"{where}: event is {len(raw)} bytes, over the 256 KiB limit")
    if raw.count(b"{") + raw.count(b"[") > MAX_DEPTH and _too_deep(raw):
        raise InvalidInput(
            f"{where}: nested deeper than {MAX_DEPTH} levels of objects and arrays; flatten it"
        )
    try:
        obj = _ANY.decode(raw)
    except msgspec.DecodeError as e:
        raise InvalidInput(f"{where}: not valid JSON ({reason(e)})") from None
    if not isinstance(obj, dict):
        raise InvalidInput(f"{where}: an event must be a JSON object, got {_json_kind(obj)}")
    body = raw
    if _ENCODE(obj) != raw:  # not compact, or a key repeated, or numbers spelled otherwise
        body = msgspec.json.format(raw, indent=-1)
        if _ENCODE(obj) != body:
            _refuse_repeated_keys(body, where)
    try:
        event = _TYPED.decode(body)
    except msgspec.ValidationError as e:
        raise InvalidInput(_field_error(e, obj.get("type"), where)) from None
    for key in ("sequence", "recorded_at"):
        if getattr(event, key) is not msgspec.UNSET:
            raise InvalidInput(f"{where}: field '{key}' is assigned when appended; remove it")
    occurred_at = None
    if event.occurred_at is not msgspec.UNSET:
        if event.occurred_at.tzinfo is None:
            raise InvalidInput(
                f"{where} ({obj['type']}): field 'occurred_at' needs a time zone, {_EXAMPLE}"
            )
        occurred_at = obj["occurred_at"]
    event_id = None if event.id is msgspec.UNSET else event.id
    return Published(
        where, body, obj["type"], event.organization_id, event.context_id, event_id, occurred_at
    )


def same_content(stored_body: bytes, body: bytes) -> bool:
    """Whether two published objects say the same thing, whatever their key order."""
    return stored_body == body or _SORTED(_ANY.decode(stored_body)) == _SORTED(_ANY.decode(body))


def _refuse_repeated_keys(body: bytes, where: str) -> None:
    def check(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise InvalidInput(f"{where}: key '{key}' is repeated in one object; send it once")
            seen.add(key)
        return dict(pairs)

    json.loads(body, object_pairs_hook=check)


_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[][{}]', re.DOTALL)


def _too_deep(raw: bytes) -> bool:
    """Whether objects and arrays nest deeper than MAX_DEPTH (brackets in strings aside): the
    decoders recurse, and would otherwise fail on deep input with a RecursionError."""
    depth = 0
    for token in _STRUCTURE.finditer(raw):
        match token.group()[0]:
            case 0x7B | 0x5B:  # { [
                depth += 1
                if depth > MAX_DEPTH:
                    return True
            case 0x7D | 0x5D:  # } ]
                depth -= 1
    return False


def reason(e: Exception) -> str:
    """msgspec's decode error, without its prefix."""
    return str(e).removeprefix("JSON is malformed: ")


def _json_kind(obj: object) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(obj), "a number"
    )


def _field_error(e: msgspec.ValidationError, kind: object, where: str) -> str:
    # msgspec: "Expected `str`, got `int` - at `$.x`" or "Object missing required field `x`"
    text = str(e)
    if text.endswith("at `$.type`") or text == "Object missing required field `type`":
        shown = f"'{kind}'" if isinstance(kind, str) else "missing" if kind is None else "not text"
        return f"{where}: field 'type' is {shown}; valid types: {', '.join(EVENT_TYPES)}"
    where = f"{where} ({kind})"
    if text.startswith("Object missing required field"):
        return f"{where}: field '{text.split('`')[1]}' is required"
    message, _, path = text.partition(" - at `$.")
    field = path.rstrip("`") or "?"
    if "length" in message and ">= 1" in message:
        return f"{where}: field '{field}' must be a non-empty string"
    if field == "id":
        return f"{where}: field 'id' must be 1 to 128 letters, digits or ._:-"
    if field == "occurred_at":
        return f"{where}: field 'occurred_at' must be an RFC 3339 time with a zone, {_EXAMPLE}"
    return f"{where}: field '{field}': {message.replace('`', '')}"
