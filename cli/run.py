"""`run`: the actor system in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading

import click

from signin_webhooks.actors import WebhookSystem, activity
from signin_webhooks.cli import logs
from signin_webhooks.cli.app import main, pass_writer
from signin_webhooks.eventstore import postgres


@main.command()
@logs.options
@pass_writer
def run(system: WebhookSystem, log_format: str, quiet: bool) -> None:
    """Deliver what the log holds, and what is published while it runs, until interrupted.

    Logs one line per attempt, seal, change of health and retention run on stderr."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    where = postgres.shown(str(system.path))

    def announce(line: str, event: str) -> None:
        if log_format == "json":
            activity.report(event, db=where)
        elif not quiet:
            click.echo(f"signin-webhooks: {line}", err=True)

    handler = logs.configure(log_format, quiet)
    try:
        with WebhookSystem(
            system.path, resolver=system.resolver,
            allow_private_networks=system.allow_private_override, create=system.create,
        ):  # fmt: skip
            announce(f"delivering from {where}; Ctrl-C stops", "started")
            stop.wait()
            announce("stopping: attempts in flight finish first", "stopping")
    finally:
        logs.release(handler)
