"""`serve`: the HTTP API, and delivery as `run` does it, in one process."""

from __future__ import annotations

import copy
import signal
import socket
from typing import Any

import click
import uvicorn
from uvicorn.config import LOGGING_CONFIG

from signin_webhooks.actors import WebhookSystem
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


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the API's own lines (refused tokens) beside them."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["signin_webhooks"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8080, show_default=True, help="0: any free."
)
@click.option("--no-deliver", is_flag=True, help="Serve only; separate `run` workers deliver.")
@click.option("--access-log", is_flag=True, help="Log every request.")
@pass_writer
def serve(system: WebhookSystem, host: str, port: int, no_deliver: bool, access_log: bool) -> None:
    """Serve the HTTP API (and deliver, as `run` does) until SIGINT or SIGTERM."""
    sock = listen(host, port)
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
            log_config=log_config(),
            access_log=access_log,
            lifespan="on",
            timeout_graceful_shutdown=30,
        )
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        what = "serving" if no_deliver else "serving and delivering"
        location = postgres.shown(str(system.path)) if postgres.is_url(system.path) else system.path
        click.echo(
            f"signin-webhooks: {what} from {location} at http://{shown}:{bound_port}{PREFIX};"
            " Ctrl-C stops",
            err=True,
        )
        for signum in (signal.SIGINT, signal.SIGTERM):
            # uvicorn stops on these and then raises them again: let that second one pass, so
            # that delivery stops in order below
            signal.signal(signum, lambda *_: None)
        uvicorn.Server(config).run(sockets=[sock])
        click.echo("signin-webhooks: stopping: attempts in flight finish first", err=True)
