"""How a person drives it: the `signin-webhooks` command."""

from cli import events, run, settings, subscriptions  # noqa: F401  (registers the commands)
from cli.app import main

__all__ = ["main"]
