"""`demo`: a self-contained tour on a scratch database: a local endpoint that fails and then
recovers, a subscription, a burst of sample events, and the deliveries it received; the admin
pages show them while it runs, and with --serve until Ctrl-C."""

from __future__ import annotations

import json
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import click
import uvicorn

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.signing import verify
from signin_webhooks.cli.admin import admin_options
from signin_webhooks.cli.api import create_app
from signin_webhooks.cli.app import main
from signin_webhooks.cli.interrupts import Interrupts
from signin_webhooks.cli.output import echo_table
from signin_webhooks.cli.samples import sample_events
from signin_webhooks.cli.serve import listen

FAILURES = 2  # the endpoint's first answers are 503, then it recovers


class _Endpoint(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    answered = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        cls = type(self)
        cls.answered += 1
        failing = cls.answered <= FAILURES
        if not failing:
            cls.received.append((dict(self.headers), body))
        self.send_response(503 if failing else 200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"down for maintenance" if failing else b"ok")

    def log_message(self, *args: object) -> None:
        """Quiet: the demo tells its own story."""


@main.command()
@click.option(
    "--events", "count", default=60, show_default=True, metavar="N", help="Events to publish."
)
@click.option("--serve", is_flag=True, help="Keep the admin pages up after the tour, until Ctrl-C.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, help="The admin pages' port (0: any free)."
)
def demo(count: int, serve: bool, port: int) -> None:
    """A tour on a scratch database: publish, batch, fail, retry, deliver, inspect; then the
    URL of its admin pages, served while it runs (with --serve, until Ctrl-C)."""
    sock = listen("127.0.0.1", port)  # bound now: port 0 names the port taken
    _Endpoint.received, _Endpoint.answered = [], 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/hooks"
    with tempfile.TemporaryDirectory() as scratch:
        db = Path(scratch) / "demo.db"
        click.echo(f"1. scratch database {db}")
        click.echo(f"2. endpoint {url}: answers 503 twice, then 200")
        with (
            WebhookSystem(db, allow_private_networks=True) as system,
            _Pages(system, sock) as pages,
        ):
            saved = system.subscriptions.create(
                name="Lobby CRM",
                url=url,
                context="ctx_lobby",
                max_events=25,
                flush_interval="1s",
                retry_schedule="1s,2s,4s",
            )
            sub = saved.subscription
            click.echo(f"3. subscription {sub.id}: context ctx_lobby, 25 events or 1s a batch")
            events = sample_events(count, contexts=["ctx_lobby", "ctx_arena"])
            result = system.publish(events)
            expected = sum(1 for e in events if e["context_id"] == "ctx_lobby")
            click.echo(
                f"4. published {result.appended} events of all 12 types"
                f" (sequences {result.first_sequence}..{result.last_sequence});"
                f" {expected} are in ctx_lobby"
            )
            deadline = time.monotonic() + 45
            while _delivered() < expected and time.monotonic() < deadline:
                time.sleep(0.1)
            verified = all(
                verify(saved.secret or "", h["webhook-id"], int(h["webhook-timestamp"]), b,
                       h["webhook-signature"])
                for h, b in _Endpoint.received
            )  # fmt: skip
            click.echo(
                f"5. the endpoint received {_delivered()} events in {len(_Endpoint.received)}"
                f" POSTs; signatures {'verified' if verified else 'DID NOT VERIFY'}\n"
            )
            deliveries = system.deliveries.list(subscription_id=sub.id)
            echo_table(
                [(d.id, d.status, d.count, d.attempts, d.first_sequence, d.last_sequence)
                 for d in reversed(deliveries)],
                ["delivery", "status", "events", "attempts", "first", "last"],
            )  # fmt: skip
            retried = next((d for d in deliveries if d.attempts > 1), None)
            if retried is not None:
                click.echo(f"\nattempts of {retried.id}:")
                for a in system.deliveries.get(retried.id)[1]:
                    result_line = a.error or f"HTTP {a.status}"
                    click.echo(f"  {a.attempt}. {a.started_at}  {result_line} -> {a.outcome}")
            _, secret = system.tokens.create(scope="context", context="ctx_lobby")
            click.echo(
                f"\n6. admin pages: {pages.url}/contexts/ctx_lobby/webhooks/{sub.id}\n"
                f"   sign in with the token made for the demo: {secret}"
            )
            if serve:
                click.echo("   serving them until Ctrl-C")
                _until_interrupted()
            else:
                click.echo("   (up while the demo runs; `signin-webhooks demo --serve` keeps them"
                           " up until Ctrl-C)")  # fmt: skip
    server.shutdown()
    if _delivered() < expected:
        raise click.ClickException(f"only {_delivered()} of {expected} events arrived in time")


class _Pages:
    """The API and the admin pages over the demo's system, served from a thread."""

    def __init__(self, system: WebhookSystem, sock: socket.socket) -> None:
        config = uvicorn.Config(create_app(system, **admin_options()), log_level="warning")
        self.server = uvicorn.Server(config)
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> _Pages:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.server.started:
            raise click.ClickException("the admin pages did not start; see the lines above")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


def _until_interrupted() -> None:
    """Wait for Ctrl-C (SIGINT) or SIGTERM; either ends the demo cleanly."""
    Interrupts().wait()
    click.echo("stopping", err=True)


def _delivered() -> int:
    return sum(len(json.loads(body)) for _, body in _Endpoint.received)
