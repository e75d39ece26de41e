"""Verifying a delivery with the `standardwebhooks` package (pip install standardwebhooks): the
raw body first, the events parsed after, so that NDJSON bodies verify as JSON ones do."""

import json
from collections.abc import Mapping

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def verified_events(secret: str, headers: Mapping[str, str], body: bytes) -> list[dict] | None:
    """The events of a genuine delivery, or None for one to refuse (answer 401)."""
    found = {name.lower(): value for name, value in headers.items()}
    try:
        # json_parse=False: check the raw body and parse nothing. The library's own parse
        # reads the body as one JSON document, which an NDJSON body of two or more lines is
        # not: it would fail after the signature had passed.
        Webhook(secret).verify(body, found, json_parse=False)
    except WebhookVerificationError:
        return None
    return events_of(body, found.get("content-type", ""))


def events_of(body: bytes, content_type: str) -> list[dict]:
    """The event objects of a delivery: a JSON array, or one object per line for NDJSON."""
    if content_type.split(";")[0].strip().lower() == "application/x-ndjson":
        return [json.loads(line) for line in body.splitlines() if line.strip()]
    return json.loads(body)
