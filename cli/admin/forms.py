"""A subscription's form: its inputs as text, what they mean as the Python API's fields, and
each refusal put beside the input it is about, in the words the command line and the API use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from signin_webhooks.cli.api.problems import in_fields
from signin_webhooks.eventstore.catalogue import CATALOGUE
from signin_webhooks.eventstore.errors import InvalidInput, SigninWebhooksError
from signin_webhooks.eventstore.event_types import selected
from signin_webhooks.eventstore.subscription_fields import SubscriptionFields, validate_fields
from signin_webhooks.eventstore.subscriptions import REDACTED, Subscription

# The catalogue as the product page groups it: a heading, its pattern, its types.
GROUPS: tuple[tuple[str, str], ...] = (
    ("Session lifecycle", "signin.session.*"),
    ("Arena session", "signin.arenasession.*"),
    ("DHCP", "signin.dhcp.*"),
    ("Configuration audit", "signin.configuration.*"),
)
# The inputs that hold text, in the form's order; `events` and `patterns` are the event choice.
TEXT_INPUTS = (
    "name",
    "description",
    "url",
    "content_type",
    "headers",
    "max_events",
    "max_bytes",
    "flush_interval",
    "retry_schedule",
    "timeout",
    "auto_disable_after",
    "operations_url",
)
# Inputs left empty take the default (on create) or keep their value (on edit).
OPTIONAL = {"description", "content_type", "headers", "auto_disable_after", "operations_url"}
# The input each field an error names is shown beside, where the name differs.
_INPUT_OF = {"header": "headers", "context": "scope", "organization": "scope", "scope_id": "scope"}
_PROBE = SubscriptionFields(name="n", scope="context", scope_id="c", url="https://example.com/")


def catalogue_groups() -> list[dict[str, Any]]:
    """The groups the form's event choice is laid out in, each type with when it is emitted."""
    return [
        {
            "title": title,
            "noun": title if title.isupper() else title.lower(),
            "pattern": pattern,
            "types": [(t, CATALOGUE[t][0]) for t in selected((pattern,))],
        }
        for title, pattern in GROUPS
    ]


def _choices() -> set[str]:
    return {"*", *(p for _, p in GROUPS), *CATALOGUE}


def form_of(sub: Subscription | None) -> dict[str, Any]:
    """The inputs as the form shows them: a new subscription's defaults, or one's settings
    (header values redacted)."""
    f = sub.fields if sub is not None else _PROBE
    values: dict[str, Any] = {
        "name": f.name if sub else "",
        "description": f.description,
        "url": f.url if sub else "",
        "content_type": f.content_type,
        "headers": "\n".join(f"{k}: {REDACTED}" for k in f.headers),
        "max_events": str(f.max_events),
        "max_bytes": str(f.max_bytes),
        "flush_interval": f.shown("flush_interval") or "",
        "retry_schedule": f.shown("retry_schedule") or "",
        "timeout": f.shown("timeout") or "",
        "auto_disable_after": f.shown("auto_disable_after") or "",
        "operations_url": f.operations_url or "",
        "enabled": sub.enabled if sub else True,
    }
    return {**values, **_split_events(f.events)}


def _split_events(events: Sequence[str]) -> dict[str, Any]:
    choices = _choices()
    return {
        "events": [e for e in events if e in choices],
        "patterns": " ".join(e for e in events if e not in choices),
    }


def submitted(form: Any) -> dict[str, Any]:
    """The inputs as posted, to show again beside their errors."""
    values: dict[str, Any] = {key: str(form.get(key, "")) for key in TEXT_INPUTS}
    values["events"] = [str(e) for e in form.getall("events", [])]
    values["patterns"] = str(form.get("patterns", ""))
    values["enabled"] = form.get("enabled") is not None
    return values


def fields_of(
    values: Mapping[str, Any], current: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The Python API's fields from the inputs. `current` is an edited subscription's header
    values: a header line left as `Name: [redacted]` keeps its value."""
    out: dict[str, Any] = {}
    for key in TEXT_INPUTS:
        text = values[key].strip() if key != "description" else values[key]
        if key == "headers":
            out[key] = _headers(values[key], current or {})
        elif text or key not in OPTIONAL:
            out[key] = text
    out["events"] = [*values["events"], *values["patterns"].replace(",", " ").split()]
    return out


def _headers(text: str, current: Mapping[str, str]) -> list[str]:
    known = {name.lower(): value for name, value in current.items()}
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if colon and value.strip() == REDACTED and name.strip().lower() in known:
            line = f"{name.strip()}: {known[name.strip().lower()]}"
        lines.append(line)
    return lines


def changed(fields: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, Any]:
    """Only the fields whose input differs from what the form showed: an edit that leaves a
    duration as shown keeps it as it was written."""
    shown = {**before, "events": [*before["events"], *before["patterns"].split()]}
    return {k: v for k, v in fields.items() if k == "headers" or _text(v) != _text(shown.get(k))}


def _text(value: Any) -> Any:
    return sorted(value) if isinstance(value, list | tuple) else str(value).strip()


def errors_of(error: SigninWebhooksError, fields: Mapping[str, Any]) -> dict[str, str]:
    """The refusal as {input: message}: beside the input the error names, or, when it names
    none, the input whose value alone is refused with it; else above the form (`form`)."""
    message = in_fields(error)
    for name in error.fields:
        return {_INPUT_OF.get(name, name): message}
    for key, value in fields.items():
        if value is None:
            continue
        try:
            validate_fields({key: value}, base=_PROBE)
        except InvalidInput as e:
            if str(e) == str(error):
                return {key: message}
    return {"form": message}
