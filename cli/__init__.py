"""How a person drives it: the `signin-webhooks` command."""

from cli import (  # noqa: F401  (registers the commands)
    deliveries,
    demo,
    events,
    operations,
    run,
    settings,
    subscriptions,
)
from cli.app import main
from cli.bench import command as _bench  # noqa: F401

__all__ = ["main"]
