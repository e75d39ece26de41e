"""What is accepted and what is refused, with nothing stored."""

from __future__ import annotations

from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import InvalidInput
from tests.helpers import subscribe
from tests.subscriptions import URL, log_length, reveal


@pytest.mark.parametrize(
    ("events", "saved"),
    [
        (None, ("*",)),
        (["*"], ("*",)),
        (["signin.session.*"], ("signin.session.*",)),
        ("signin.dhcp.granted", ("signin.dhcp.granted",)),
        (["signin.dhcp.granted", "signin.dhcp.granted"], ("signin.dhcp.granted",)),
        (["signin.*", "signin.configuration.audit"], ("signin.*", "signin.configuration.audit")),
    ],
)
def test_events_are_catalogue_types_or_patterns(
    system: WebhookSystem, events: Any, saved: tuple[str, ...]
) -> None:
    assert subscribe(system, URL, events=events).subscription.fields.events == saved


@pytest.mark.parametrize(
    ("fields", "attribute", "value"),
    [
        ({"max_events": 1}, "max_events", 1),
        ({"max_events": "1000000"}, "max_events", 1_000_000),
        ({"max_bytes": 65536}, "max_bytes", 65536),
        ({"max_bytes": "67108864"}, "max_bytes", 67108864),
        ({"flush_interval": "0"}, "flush_interval", 0.0),
        ({"flush_interval": "500ms"}, "flush_interval", 0.5),
        ({"flush_interval": "1h30m"}, "flush_interval", 5400.0),
        ({"flush_interval": "24h"}, "flush_interval", 86400.0),
        ({"flush_interval": 45}, "flush_interval", 45.0),
        ({"retry_schedule": "30s,1m,1h"}, "retry_schedule", (30.0, 60.0, 3600.0)),
        ({"retry_schedule": [10, 20]}, "retry_schedule", (10.0, 20.0)),
        ({"timeout": "5s"}, "timeout", 5.0),
        ({"content_type": "application/x-ndjson"}, "content_type", "application/x-ndjson"),
        ({"content_type": "application/cloudevents-batch+json"}, "content_type", None),
        ({"content_type": "text/json; charset=utf-8"}, "content_type", None),
        ({"headers": {"Authorization": "Bearer x"}}, "headers", {"Authorization": "Bearer x"}),
        ({"headers": ["X-Tenant:  acme "]}, "headers", {"X-Tenant": "acme"}),
    ],
)
def test_valid_settings_are_saved(
    system: WebhookSystem, fields: dict[str, Any], attribute: str, value: Any
) -> None:
    saved = getattr(
        reveal(system, subscribe(system, URL, **fields).subscription.id).fields, attribute
    )
    assert saved == (fields[attribute] if value is None else value)


HOSTILE: dict[str, dict[str, Any]] = {
    "empty name": {"name": ""},
    "blank name": {"name": "   "},
    "name not text": {"name": 5},
    "empty url": {"url": ""},
    "ftp url": {"url": "ftp://hooks.example.com/"},
    "url without scheme": {"url": "hooks.example.com/hook"},
    "url without host": {"url": "https:///hook"},
    "url with user and password": {"url": "https://user:password@hooks.example.com/"},
    "url with user": {"url": "https://user@hooks.example.com/"},
    "url with space": {"url": "https://hooks.example.com/a b"},
    "empty context": {"context": ""},
    "header name with space": {"headers": {"X Api Key": "v"}},
    "header name with colon": {"headers": {"X:Api": "v"}},
    "header without colon": {"headers": ["Authorization Bearer x"]},
    "header value with CR": {"headers": {"X-Api": "a\rb"}},
    "header value with LF": {"headers": {"X-Api": "a\nInjected: 1"}},
    "header value with NUL": {"headers": {"X-Api": "a\x00b"}},
    "header given twice": {"headers": ["X-Api: 1", "x-api: 2"]},
    "reserved Content-Type": {"headers": {"Content-Type": "text/plain"}},
    "reserved Host": {"headers": {"Host": "evil.example"}},
    "reserved User-Agent": {"headers": {"User-Agent": "x"}},
    "reserved webhook-id": {"headers": {"webhook-id": "x"}},
    "reserved Webhook-Signature": {"headers": {"Webhook-Signature": "v1,x"}},
    "unknown event": {"events": ["signin.session.nope"]},
    "pattern matching nothing": {"events": ["signin.nothing.*"]},
    "no events": {"events": []},
    "max_events not a number": {"max_events": "many"},
    "max_events zero": {"max_events": 0},
    "max_events too many": {"max_events": 1_000_001},
    "max_events a bool": {"max_events": True},
    "max_bytes too small": {"max_bytes": 65535},
    "max_bytes too large": {"max_bytes": 64 * 1024 * 1024 + 1},
    "max_bytes with a unit": {"max_bytes": "16MiB"},
    "flush_interval 25h": {"flush_interval": "25h"},
    "flush_interval negative": {"flush_interval": -1},
    "flush_interval abc": {"flush_interval": "abc"},
    "flush_interval fraction": {"flush_interval": "1.5h"},
    "retry_schedule empty": {"retry_schedule": ""},
    "retry_schedule zero": {"retry_schedule": "0"},
    "retry_schedule bad item": {"retry_schedule": "2m,soon"},
    "timeout zero": {"timeout": "0"},
    "timeout too long": {"timeout": "2h"},
    "content type xml": {"content_type": "application/xml"},
    "content type text": {"content_type": "text/plain"},
    "content type latin-1": {"content_type": "application/json; charset=latin-1"},
    "unknown field": {"colour": "blue"},
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_input_is_refused_and_nothing_is_stored(system: WebhookSystem, case: str) -> None:
    existing, spoilt = subscribe(system, URL).subscription, HOSTILE[case]
    before = log_length(system)
    with pytest.raises(InvalidInput):
        system.subscriptions.create(**{"name": "CRM", "url": URL, "context": "ctx_lobby", **spoilt})
    with pytest.raises(InvalidInput):
        system.subscriptions.update(existing.id, **spoilt)
    assert log_length(system) == before
    assert system.subscriptions.list() == [existing]


def test_a_subscription_needs_exactly_one_scope(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput, match="exactly one of context ID and organization ID"):
        system.subscriptions.create(name="x", url=URL)
    with pytest.raises(InvalidInput, match="not both"):
        system.subscriptions.create(name="x", url=URL, context="c", organization="o")
    assert log_length(system) == 0


def test_a_fractional_max_events_is_refused(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput):
        subscribe(system, URL, max_events=5.5)


def test_an_infinite_flush_interval_is_refused_as_bad_input(system: WebhookSystem) -> None:
    with pytest.raises(InvalidInput):
        subscribe(system, URL, flush_interval=float("inf"))
