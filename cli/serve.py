"""`serve`: the HTTP API, and delivery as `run` does it, in one process."""

from __future__ import annotations

import logging
import signal
import socket

import click
import uvicorn

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli import logs
from signin_webhooks.cli.admin import admin_options
from signin_webhooks.cli.api import PREFIX, create_app
from signin_webhooks.cli.app import main, pass_writer
from signin_webhooks.eventstore import SigninWebhooksError, postgres


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts, so port 0 names the port taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so that asyncio sets TCP_NODELAY on each connection accepted
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise SigninWebhooksError(
            f"cannot listen on {host}:{port}: {e.strerror}; choose another --host or --port"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


#: uvicorn's own loggers: their lines go out beside the system's, in the same format
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")
#: uvicorn's line per request, given --access-log: uvicorn writes it whenever this logger has a
#: handler, so it is given one only then
ACCESS_LOGGER = "uvicorn.access"


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free."
)
@click.option("--no-deliver", is_flag=True, help="Serve only; separate `run` workers deliver.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@logs.options
@pass_writer
def serve(
    system: WebhookSystem,
    host: str,
    port: int,
    no_deliver: bool,
    access_log: bool,
    log_format: str,
    quiet: bool,
) -> None:
    """Serve the HTTP API (and deliver, as `run` does) until SIGINT or SIGTERM.

    Logs as `run` does on stderr, and uvicorn's lines (with --access-log, one per request)
    in the same format.
    """
    if access_log and quiet:
        raise click.UsageError(
            "--access-log logs every request and --quiet only warnings and errors; give one"
        )
    sock = listen(host, port)
    loggers = (*UVICORN_LOGGERS, ACCESS_LOGGER) if access_log else UVICORN_LOGGERS
    log = logs.RunLog(log_format, quiet, loggers=loggers)
    try:
        _serve(system, sock, no_deliver=no_deliver, access_log=access_log, log=log)
    finally:
        log.close()


def _serve(
    system: WebhookSystem,
    sock: socket.socket,
    *,
    no_deliver: bool,
    access_log: bool,
    log: logs.RunLog,
) -> None:
    with WebhookSystem(
        system.path,
        deliver=not no_deliver,
        resolver=system.resolver,
        allow_private_networks=system.allow_private_override,
        create=system.create,
    ) as served:
        app = create_app(served, **admin_options())
        config = uvicorn.Config(
            app,
            log_config=None,  # the loggers are RunLog's
            log_level=logging.WARNING if log.quiet else logging.INFO,
            access_log=access_log,
            lifespan="on",
            timeout_graceful_shutdown=30,
        )
        server = uvicorn.Server(config)

        def stop(*_: object) -> None:
            server.should_exit = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            # Until uvicorn takes these over, and after: it raises them again once stopped, and
            # delivery then stops in order below.
            signal.signal(signum, stop)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown}:{bound_port}{PREFIX}"
        what = "serving" if no_deliver else "serving and delivering"
        location = postgres.shown(str(system.path))
        log.say(
            "started", f"{what} from {location} at {url}; Ctrl-C stops",
            db=location, url=url, deliver=not no_deliver,
        )  # fmt: skip
        log.open()
        server.run(sockets=[sock])
        log.say("stopping", "stopping: attempts in flight finish first", db=location)
