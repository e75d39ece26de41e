"""How a person drives it: the `signin-webhooks` command."""

from signin_webhooks.cli import (  # noqa: F401  (registers the commands)
    copy,
    deliveries,
    demo,
    events,
    operations,
    run,
    serve,
    settings,
    subscriptions,
    tokens,
)
from signin_webhooks.cli.app import accept_global_options, main
from signin_webhooks.cli.bench import command as _bench  # noqa: F401

accept_global_options(main)

__all__ = ["main"]
