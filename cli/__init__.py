"""How a person drives it: the `signin-webhooks` command."""

from cli import deliveries, events, operations, run, settings, subscriptions  # noqa: F401  (registers the commands)
from cli.app import main

__all__ = ["main"]
