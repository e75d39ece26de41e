"""`run`: the actor system in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_writer


@main.command()
@pass_writer
def run(system: WebhookSystem) -> None:
    """Deliver what the log holds, and what is published while it runs, until interrupted."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with WebhookSystem(
        system.path, resolver=system.resolver, allow_private_networks=system.allow_private_override,
        create=system.create,
    ):  # fmt: skip
        click.echo(f"signin-webhooks: delivering from {system.path}; Ctrl-C stops", err=True)
        stop.wait()
        click.echo("signin-webhooks: stopping: attempts in flight finish first", err=True)
