"""Subscriptions and installation settings through the Python API, on real database files.

DNS is a fake resolver the test fills in, so what a host name "resolves to" is up to the test.
"""

from __future__ import annotations

from collections.abc import Callable

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore.subscriptions import Subscription

PUBLIC = "93.184.216.34"


HOST = "hooks.example.com"


URL = f"https://{HOST}/signin"


Opener = Callable[..., WebhookSystem]


def reveal(system: WebhookSystem, subscription_id: str) -> Subscription:
    """The subscription with its secrets and header values opened, as `show --reveal` has it."""
    return system.subscriptions.reveal(system.subscriptions.get(subscription_id))


def log_length(system: WebhookSystem) -> int:
    return len(list(system.replay(internal=True)))


def last_internal_sequence(system: WebhookSystem) -> int:
    return [r.sequence for r in system.replay(internal=True) if r.internal][-1]
