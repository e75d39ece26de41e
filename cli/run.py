"""`run`: the actor system in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading

from signin_webhooks.actors import AlreadyRunning, WebhookSystem
from signin_webhooks.cli import logs
from signin_webhooks.cli.app import main, pass_writer
from signin_webhooks.eventstore import SigninWebhooksError, postgres


@main.command()
@logs.options
@pass_writer
def run(system: WebhookSystem, log_format: str, quiet: bool) -> None:
    """Deliver what the log holds, and what is published while it runs, until interrupted.

    One `run` per SQLite database; SIGTERM or Ctrl-C stops it once the attempts in flight
    end. Logs one line per attempt, seal, change of health and retention run on stderr.

    \b
    Example:
      SIGNIN_WEBHOOKS_DB=/var/lib/signin-webhooks/signin-webhooks.db signin-webhooks run
    """
    stop = threading.Event()
    halted: list[str] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
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
            running.on_halt(lambda reason: (halted.append(reason), stop.set()))
            log.say("started", f"delivering from {where}; Ctrl-C stops", db=where)
            log.open()
            # A signal that lands on another thread sets `stop` without waking a wait with no
            # timeout: look again now and then.
            while not stop.wait(timeout=0.5):
                pass
            if not halted:
                log.say("stopping", "stopping: attempts in flight finish first", db=where)
    finally:
        log.close()
    if halted:  # the database went from under it: one line, exit 1
        raise SigninWebhooksError(halted[0])
