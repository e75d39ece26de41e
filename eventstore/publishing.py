"""Reading what a publisher sends: one JSON object, a JSON array of objects, or NDJSON."""

from __future__ import annotations

import msgspec

from signin_webhooks.eventstore.catalogue import Published, reason, validate
from signin_webhooks.eventstore.errors import InvalidInput

MAX_REPORTED = 20
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW = msgspec.json.Decoder(msgspec.Raw)


def parse_events(data: bytes) -> list[Published]:
    """Every event of the input, validated; raises one error listing each invalid event."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidInput(f"input is not UTF-8 (byte {e.start}); send UTF-8 JSON") from None
    text = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    if not text:
        raise InvalidInput("no events in the input; send a JSON object, a JSON array or NDJSON")
    framed = _frame(text, data[: len(data) - len(text)].count(b"\n"))
    if not framed:
        raise InvalidInput("the input holds an empty list; send at least one event")
    events, errors = [], []
    for where, raw in framed:
        try:
            events.append(validate(raw, where))
        except InvalidInput as e:
            errors.append(str(e))
    if errors:
        shown = errors[:MAX_REPORTED]
        if len(errors) > MAX_REPORTED:
            shown.append(f"... and {len(errors) - MAX_REPORTED} more invalid events")
        raise InvalidInput("\n".join(shown) + "\nnothing was appended")
    return events


def _frame(text: bytes, skipped_lines: int) -> list[tuple[str, bytes]]:
    if text.startswith(b"["):
        try:
            items = _RAW_LIST.decode(text)
        except msgspec.DecodeError as e:
            raise InvalidInput(f"input is not a valid JSON array ({reason(e)})") from None
        return [(f"index {i}", bytes(item)) for i, item in enumerate(items)]
    try:
        return [("event", bytes(_RAW.decode(text)))]
    except msgspec.DecodeError as e:
        error = e
    lines = [
        (f"line {n}", line)
        for n, line in enumerate(text.split(b"\n"), skipped_lines + 1)
        if line.strip()
    ]
    if "trailing characters" in str(error) or any(_is_json(line) for _, line in lines[:100]):
        return lines
    raise InvalidInput(f"input is not valid JSON ({reason(error)})")


def _is_json(line: bytes) -> bool:
    try:
        _RAW.decode(line)
    except msgspec.DecodeError:
        return False
    return True
