"""`deliveries list|show|retry`: what was sent, when, and what came back."""

from __future__ import annotations

import sys
from typing import Any

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system
from signin_webhooks.cli.output import echo, echo_fields, echo_json, echo_table, printable
from signin_webhooks.cli.watching import FOLLOW_INTERVAL, until_interrupted
from signin_webhooks.eventstore import StoreError
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.statuses import STATUSES

BODY_LINES, BODY_CHARS = 20, 4000  # of a body shown on a terminal without --full


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "subscription_id": d.subscription_id,
        "status": d.status,
        "trigger": d.trigger,
        "event_count": d.count,
        "first_sequence": d.first_sequence or None,
        "last_sequence": d.last_sequence or None,
        "bytes": d.bytes,
        "sealed_at": d.sealed_at,
        "settled_at": d.settled_at,
        "next_attempt_at": d.next_attempt_at,
        "attempt_count": d.attempts,
    }


def attempt_view(a: AttemptRecorded) -> dict[str, Any]:
    return {
        "number": a.attempt,
        "trigger": a.trigger,
        "started_at": a.started_at,
        "duration": format_duration(a.duration),
        "url": a.url,
        "request_headers": a.request_headers,
        "response_status": a.status,
        "response_headers": a.response_headers,
        "response_body": a.response_body,
        "error_kind": a.error_kind,
        "error": a.error,
        "outcome": a.outcome,
        "next_attempt_at": a.next_attempt_at,
    }


@main.group()
def deliveries() -> None:
    """Delivery history: every batch sent, its attempts and responses."""


@deliveries.command(name="list")
@click.option("--subscription", "subscription_id", metavar="ID", help="Only this subscription.")
@click.option("--status", type=click.Choice(STATUSES), help="Only deliveries with this status.")
@click.option("--since", metavar="TIME", help="Sealed at or after TIME (RFC 3339, or ago: 1h, 2d).")
@click.option("--until", metavar="TIME", help="Sealed before TIME (RFC 3339, or ago: 1h, 2d).")
@click.option("--event", "event_id", metavar="ID", help="Only deliveries that carried this event.")
@click.option(
    "--webhook-id", "delivery_id", metavar="ID", help="Only the delivery sent with this webhook-id."
)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True, metavar="N")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array (NDJSON with --follow).")
@click.option(
    "--follow", is_flag=True, help="Print each new delivery and change of status, until Ctrl-C."
)
@click.pass_context
def list_(ctx: click.Context, /, as_json: bool, follow: bool, **where: Any) -> None:
    """Recent deliveries, newest first; with --follow, what happens to deliveries from now on,
    a line for each change, read from the log (beside a running `run`, from any process).

    \b
    Examples:
      signin-webhooks deliveries list --status failed --since 2d
      signin-webhooks deliveries list --event ev_1001
      signin-webhooks deliveries list --follow --subscription sub_06h1v2vndzckg49d
    """
    system = ctx.find_object(WebhookSystem)
    assert system is not None  # the group opened it
    if follow:
        given = [name for name in where if ctx.get_parameter_source(name) is COMMAND_LINE]
        others = [OPTION_NAMES[name] for name in given if name not in FOLLOWED]
        if others:
            raise click.UsageError(
                f"--follow prints what happens from now on: it takes --subscription, --status"
                f" and --webhook-id, not {', '.join(others)}; drop it, or leave out --follow"
            )
        follow_deliveries(system, as_json, **{k: where[k] for k in FOLLOWED})
        return
    found = system.deliveries.list(**where)
    if as_json:
        echo_json([delivery_view(d) for d in found])
        return
    echo_table(
        [
            (
                d.id,
                d.subscription_id,
                d.status,
                d.trigger,
                d.count,
                d.attempts,
                d.sealed_at,
                d.settled_at or d.next_attempt_at,
            )
            for d in found
        ],
        ["id", "subscription", "status", "trigger", "events", "attempts", "sealed", "settled/next"],
    )


FOLLOWED = ("subscription_id", "status", "delivery_id")
OPTION_NAMES = {
    "since": "--since", "until": "--until", "event_id": "--event", "limit": "--limit",
}  # fmt: skip
COMMAND_LINE = click.core.ParameterSource.COMMANDLINE


def follow_deliveries(
    system: WebhookSystem,
    as_json: bool,
    subscription_id: str | None,
    status: str | None,
    delivery_id: str | None,
) -> None:
    position = system.deliveries.position()
    click.echo(f"following deliveries after sequence {position}; Ctrl-C stops", err=True)

    def more() -> None:
        nonlocal position
        position, found = system.deliveries.changes(position)
        for change in found:
            if subscription_id not in (None, change.subscription_id):
                continue
            if status not in (None, change.status) or delivery_id not in (None, change.delivery_id):
                continue
            if as_json:
                echo_json(change)
            else:
                echo(f"{change.recorded_at}  {change.delivery_id}  {change.subscription_id}"
                     f"  {change.status:<9}  {change.detail}")  # fmt: skip

    until_interrupted(more, FOLLOW_INTERVAL)


@deliveries.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--no-body", is_flag=True, help="Leave out the body sent.")
@click.option("--full", is_flag=True, help="The whole body, even on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_system
def show(system: WebhookSystem, delivery_id: str, no_body: bool, full: bool, as_json: bool) -> None:
    """One delivery: each attempt with its response, and the exact body sent.

    On a terminal the body is cut to its first lines unless --full.

    \b
    Examples:
      signin-webhooks deliveries show dlv_06h1v2wkwjg0hp23
      signin-webhooks deliveries show dlv_06h1v2wkwjg0hp23 --no-body --json
    """
    delivery, attempts = system.deliveries.get(delivery_id)
    body: str | None = None
    if not no_body:
        try:
            body = system.deliveries.body(delivery).decode()
        except StoreError:
            body = None  # the log no longer holds its events
    shown = {
        **delivery_view(delivery),
        "body": body,
        "attempts": [attempt_view(a) for a in attempts],
    }
    if no_body:
        del shown["body"]
    if as_json:
        echo_json(shown)
        return
    echo_fields({k: v for k, v in shown.items() if k not in ("body", "attempts")})
    for a in shown["attempts"]:
        click.echo()
        echo(f"attempt {a['number']} ({a['trigger']}) at {a['started_at']}, {a['duration']}")
        echo(f"  POST {a['url']}")
        for k, v in a["request_headers"].items():
            echo(f"  > {k}: {v}")
        result = a["error"] or f"HTTP {a['response_status']}"
        kind = f" [{a['error_kind']}]" if a["error_kind"] else ""
        echo(f"  {result}{kind} -> {a['outcome']}")
        for k, v in a["response_headers"].items():
            echo(f"  < {k}: {v}")
        if a["response_body"]:
            echo(f"  < {a['response_body']}")
    if no_body:
        return
    click.echo("\nbody sent:")
    if body is None:
        click.echo("(its events are no longer in the log)")
    else:
        cut = full or not sys.stdout.isatty()
        click.echo(printable(body if cut else head(body), lines=True).rstrip("\n"))


def head(body: str, lines: int = BODY_LINES, chars: int = BODY_CHARS) -> str:
    """The first lines of a body, at most `chars` of it, and how much more there is."""
    shown = "\n".join(body.splitlines()[:lines])[:chars]
    if len(shown) >= len(body.rstrip("\n")):
        return body
    rest = len(body.encode()) - len(shown.encode())
    return f"{shown}\n... {rest} more bytes; --full prints the whole body"


@deliveries.command()
@click.argument("delivery_id", metavar="ID")
@click.option("--force", is_flag=True, help="Also for a delivery pending or already succeeded.")
@pass_system
def retry(system: WebhookSystem, delivery_id: str, force: bool) -> None:
    """Send a delivery again, same webhook-id, in a new series of attempts."""
    requested = system.deliveries.retry(delivery_id, force=force)
    waits = " it waits for `signin-webhooks run`" if requested.waits else " `run` carries it out"
    echo(f"retry of {delivery_id} requested;{waits}")
