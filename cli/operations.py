"""`subscriptions test|recover`, `retention` and `status`: the operator's tools."""

from __future__ import annotations

import sys

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system
from signin_webhooks.cli.deliveries import attempt_view, delivery_view
from signin_webhooks.cli.output import echo, echo_fields, echo_json, echo_table
from signin_webhooks.cli.progress import through_window
from signin_webhooks.cli.subscriptions import subscriptions
from signin_webhooks.cli.watching import interval_option, parse_interval, until_interrupted
from signin_webhooks.eventstore import EVENT_TYPES, format_time
from signin_webhooks.eventstore.durations import format_duration


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@click.option("--type", "event_type", type=click.Choice(EVENT_TYPES), help="Event type to send.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_system
def test(
    system: WebhookSystem, subscription_id: str, event_type: str | None, as_json: bool
) -> None:
    """Send one synthetic event now and show what came back."""
    delivery, attempt = system.subscriptions.test(subscription_id, event_type=event_type)
    shown = {**delivery_view(delivery), **attempt_view(attempt)}
    if as_json:
        echo_json(shown)
    else:
        echo_fields(
            {
                "delivery": delivery.id,
                "status": delivery.status,
                "result": attempt.error or f"HTTP {attempt.status}",
                "duration": shown["duration"],
                "response_body": attempt.response_body,
            }
        )
    if delivery.status != "succeeded":
        raise SystemExit(1)


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@click.option(
    "--since",
    required=True,
    metavar="TIME",
    help="Recorded at or after TIME (RFC 3339, or ago: 1h, 2d).",
)
@click.option("--until", metavar="TIME", help="Recorded before TIME (default: now).")
@click.option("--dry-run", is_flag=True, help="Count the events, send nothing.")
@pass_system
def recover(
    system: WebhookSystem, subscription_id: str, since: str, until: str | None, dry_run: bool
) -> None:
    """Re-send a window of the subscription's events in new batches.

    On a terminal, a bar on stderr shows how far through the window it has read."""
    with through_window(since, until, system.clock(), "reading the window") as progress:
        count, requested = system.subscriptions.recover(
            subscription_id, since=since, until=until, dry_run=dry_run, progress=progress
        )
    if dry_run or requested is None:
        echo(f"{count} events in the window" + ("" if dry_run else "; nothing to send"))
    else:
        waits = "it waits for `signin-webhooks run`" if requested.waits else "`run` sends them"
        echo(f"recovery of {count} events requested; {waits}")


@main.command()
@click.option("--dry-run", is_flag=True, help="Say what would go, remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_system
def retention(system: WebhookSystem, dry_run: bool, as_json: bool) -> None:
    """Expire settled delivery records and idempotency keys past their retention, and compact
    the log if set."""
    report = system.retention(dry_run=dry_run)
    shown = {
        "dry_run": dry_run,
        "expired_deliveries": report.expired_deliveries,
        "settled_before": report.settled_before,
        "compacted_events": report.compacted_events,
        "compacted_through_sequence": report.compacted_through,
        "expired_idempotency_keys": report.expired_idempotency_keys,
    }
    echo_json(shown) if as_json else echo_fields(shown)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--watch", is_flag=True, help="Redraw every --interval until Ctrl-C.")
@interval_option("2s")
@pass_system
def status(system: WebhookSystem, as_json: bool, watch: bool, interval: str) -> None:
    """Whether `run` is up (on PostgreSQL: its workers and what each owns), and per
    subscription its backlog and health.

    \b
    Examples:
      signin-webhooks status
      signin-webhooks status --json | jq '.subscriptions[] | select(.health != "healthy")'
      signin-webhooks status --watch --interval 5s
    """
    if not watch:
        show_status(system, as_json)
        return
    every = parse_interval(interval)
    terminal = sys.stdout.isatty()

    def redraw() -> None:
        if terminal and not as_json:
            click.clear()
        elif not as_json:
            click.echo()  # each drawing apart from the one before
        show_status(system, as_json)
        if not as_json:
            echo(f"every {format_duration(every)}, at {format_time(system.clock())}; Ctrl-C stops")

    until_interrupted(redraw, every)


def show_status(system: WebhookSystem, as_json: bool) -> None:
    holder = system.running()
    rows = system.status()
    workers = system.workers()
    if as_json:
        echo_json({
            "running": holder is not None, "holder": holder, "workers": workers,
            "subscriptions": rows,
        })  # fmt: skip
        return
    echo(f"run: {'up (' + holder + ')' if holder else 'not running'}")
    for worker in workers:
        owned = ", ".join(worker["subscriptions"]) or "no subscription yet"
        echo(f"worker {worker['id']} ({worker['name']}): {owned}")
    columns = ("subscription_id", "name", "health", "backlog", "oldest_undelivered_age", "failed")
    echo_table(
        [(*(r[c] for c in columns), r["last_success"], r["failing_since"], r["backoff_until"])
         for r in rows],
        ["subscription", "name", "health", "backlog", "oldest", "failed", "last success",
         "failing since", "backoff until"],
    )  # fmt: skip
