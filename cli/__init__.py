"""How a person drives it: the `signin-webhooks` command."""

from signin_webhooks.cli import (  # noqa: F401  (registers the commands)
    copy,
    deliveries,
    events,
    operations,
    run,
    settings,
    subscriptions,
    tokens,
)
from signin_webhooks.cli.app import accept_global_options, main

accept_global_options(main)
# Imported when named: they bring the web framework (or the benchmark) with them.
main.lazy.update(
    bench="signin_webhooks.cli.bench.command",
    demo="signin_webhooks.cli.demo",
    serve="signin_webhooks.cli.serve",
)

__all__ = ["main"]
