"""Realistic Sign In events for the demo and the benchmark."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from signin_webhooks.eventstore import CATALOGUE

_FIELDS: dict[str, Callable[[random.Random, int], str]] = {
    "session_id": lambda r, i: f"ses_{i:08d}",
    "arena_session_id": lambda r, i: f"ars_{i:08d}",
    "mac": lambda r, i: ":".join(f"{r.randrange(256):02x}" for _ in range(6)),
    "ip": lambda r, i: f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}",
    "entity_type": lambda r, i: r.choice(["LoginModule", "AccessPolicy", "Site", "ServiceGateway"]),
    "entity_id": lambda r, i: f"ent_{r.randrange(1000)}",
    "action": lambda r, i: r.choice(["created", "updated", "deleted"]),
}


def sample_event(
    i: int, *, event_type: str, organization: str, context: str, rng: random.Random
) -> dict[str, Any]:
    """One event of `event_type` with its required fields and a guest-like payload."""
    event: dict[str, Any] = {
        "type": event_type,
        "organization_id": organization,
        "context_id": context,
    }
    for name in CATALOGUE[event_type][1]:
        event[name] = _FIELDS[name](rng, i)
    event["occurred_at"] = f"2026-01-31T09:{i // 60 % 60:02d}:{i % 60:02d}Z"
    event["guest"] = {
        "email": f"guest{i}@example.com",
        "name": f"Guest {i}",
        "locale": rng.choice(["en-GB", "de-DE", "fr-FR"]),
        "marketing_opt_in": rng.random() < 0.3,
    }
    event["device"] = {
        "os": rng.choice(["iOS 18.1", "Android 15", "macOS 15.2", "Windows 11"]),
        "browser": rng.choice(["Safari", "Chrome", "Firefox"]),
    }
    event["portal"] = {"id": f"prt_{rng.randrange(50)}", "name": rng.choice(["Lobby", "Hall B"])}
    event["policy"] = {"id": f"pol_{rng.randrange(20)}", "bandwidth_mbps": rng.choice([10, 25])}
    return event


def sample_events(
    n: int, *, contexts: list[str], organization: str = "org_acme", seed: int = 7
) -> list[dict[str, Any]]:
    """`n` events cycling through every type of the catalogue and the given contexts."""
    rng = random.Random(seed)
    types = list(CATALOGUE)
    return [
        sample_event(
            i,
            event_type=types[i % len(types)],
            organization=organization,
            context=contexts[i % len(contexts)],
            rng=rng,
        )
        for i in range(n)
    ]
