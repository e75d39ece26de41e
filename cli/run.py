"""`run`: the actor system in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import threading

import click

from signin_webhooks.actors import AlreadyRunning, WebhookSystem, metrics
from signin_webhooks.cli import logs
from signin_webhooks.cli.app import main, pass_writer
from signin_webhooks.cli.interrupts import Interrupts
from signin_webhooks.eventstore import SigninWebhooksError, postgres


@main.command()
@logs.options
@click.option(
    "--metrics-port", type=click.IntRange(0, 65535), metavar="PORT",
    help="Serve Prometheus metrics at http://HOST:PORT/metrics (0: any free port).",
)  # fmt: skip
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, metavar="HOST",
    help="The address --metrics-port listens on.",
)  # fmt: skip
@pass_writer
def run(
    system: WebhookSystem, log_format: str, quiet: bool, metrics_port: int | None, metrics_host: str
) -> None:
    """Deliver what the log holds, and what is published while it runs, until interrupted.

    One `run` per SQLite database; SIGTERM or Ctrl-C stops it once the attempts in flight
    end. Logs one line per attempt, seal, change of health and retention run on stderr.

    \b
    Example:
      SIGNIN_WEBHOOKS_DB=/var/lib/signin-webhooks/signin-webhooks.db signin-webhooks run
    """
    interrupts = Interrupts()
    stop = threading.Event()
    halted: list[str] = []
    where = postgres.shown(str(system.path))
    log = logs.RunLog(log_format, quiet)
    delivering = WebhookSystem(
        system.path, resolver=system.resolver,
        allow_private_networks=system.allow_private_override, create=system.create,
    )  # fmt: skip
    try:
        try:
            delivering.start()
        except AlreadyRunning as e:
            raise AlreadyRunning(e.holder) from None  # the Python API's hint is no option here
        with delivering as running:

            def halt(reason: str) -> None:
                halted.append(reason)
                stop.set()

            running.on_halt(halt)
            log.say("started", f"delivering from {where}; Ctrl-C stops", db=where)
            log.open()
            server = None
            if metrics_port is not None:
                registry = metrics.registry_for(system.path, system.clock)
                server, port = metrics.serve(metrics_port, registry, metrics_host)
                shown = f"http://{metrics_host}:{port}/metrics"
                log.say("metrics", f"metrics at {shown}", url=shown)
            interrupts.wait(or_until=stop)
            if server is not None:
                server.shutdown()
            if not halted:
                log.say("stopping", "stopping: attempts in flight finish first", db=where)
    finally:
        log.close()
    if halted:  # the database went from under it: one line, exit 1
        raise SigninWebhooksError(halted[0])
