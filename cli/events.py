"""`publish`, `replay` and `catalogue`: writing and reading the log."""

from __future__ import annotations

import sys
from typing import Any

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system, pass_writer
from signin_webhooks.cli.output import echo_fields, echo_json, echo_table
from signin_webhooks.cli.progress import reading
from signin_webhooks.eventstore import CATALOGUE, InvalidInput


@main.command()
@click.argument("source", default="-", metavar="[FILE|-]")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_writer
def publish(system: WebhookSystem, source: str, as_json: bool) -> None:
    """Append events: one JSON object, a JSON array, or NDJSON, from FILE or stdin.

    All events of one call are appended or none. NDJSON is read a line at a time, so a
    file of millions of events needs little memory; one call takes at most 512 MiB. On a
    terminal, a bar on stderr shows how much of a large file has been read.

    \b
    Examples:
      signin-webhooks publish events.ndjson
      echo '{"type": "signin.session.created", ...}' | signin-webhooks publish
    """
    system.start()  # a bad --db is reported before reading the input
    if source == "-":
        result = system.publish(sys.stdin.buffer)
    else:
        try:
            file = open(source, "rb")  # noqa: SIM115 (closed below, once published)
        except OSError as e:
            raise InvalidInput(f"cannot read '{source}': {e.strerror}") from None
        with file, reading(file, f"publishing {source}") as counted:
            result = system.publish(counted)
    report = {
        "appended": result.appended,
        "duplicates": result.duplicates,
        "first_sequence": result.first_sequence,
        "last_sequence": result.last_sequence,
    }
    echo_json(report) if as_json else echo_fields(report)


@main.command()
@click.option(
    "--type",
    "types",
    multiple=True,
    metavar="TYPE",
    help="Only this type or pattern (signin.dhcp.*); repeatable.",
)
@click.option("--organization", metavar="ID", help="Only events of this organization.")
@click.option("--context", metavar="ID", help="Only events of this context.")
@click.option(
    "--since", metavar="TIME", help="Recorded at or after TIME (RFC 3339, or ago: 1h, 2d)."
)
@click.option("--until", metavar="TIME", help="Recorded before TIME (RFC 3339, or ago: 1h, 2d).")
@click.option(
    "--after-sequence",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Only after sequence N.",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N events.")
@click.option("--all", "internal", is_flag=True, help="Add the internal events (secrets redacted).")
@click.option("--stats", is_flag=True, help="Print event counts per type and context instead.")
@click.option("--json", "as_json", is_flag=True, help="With --stats: print a JSON array.")
@pass_system
def replay(
    system: WebhookSystem, /, types: tuple[str, ...], stats: bool, as_json: bool, **window: Any
) -> None:
    """Print the log's Sign In events as NDJSON, oldest first, for audits.

    \b
    Examples:
      signin-webhooks replay --type 'signin.session.*' --since 1d
      signin-webhooks replay --context ctx_lobby --after-sequence 41 --limit 100
      signin-webhooks replay --stats
    """
    if stats:
        rows = system.event_counts()
        if as_json:
            echo_json(rows)
        else:
            echo_table(
                [tuple(r.values()) for r in rows], ["type", "organization", "context", "count"]
            )
        return
    out = sys.stdout.buffer
    for record in system.replay(types=types, **window):
        out.write(record.replayed() + b"\n")
    out.flush()


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
def catalogue(as_json: bool) -> None:
    """List the Sign In event types, their required fields and when each is emitted."""
    rows = [
        {"type": name, "required": list(required), "description": text}
        for name, (text, required) in CATALOGUE.items()
    ]
    if as_json:
        echo_json(rows)
    else:
        echo_table(
            [(r["type"], ", ".join(r["required"]), r["description"]) for r in rows],
            ["type", "required", "when"],
        )
