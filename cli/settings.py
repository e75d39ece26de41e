"""`settings`: installation settings, kept in the log."""

from __future__ import annotations

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system, pass_writer
from signin_webhooks.cli.output import echo, echo_json, echo_table
from signin_webhooks.eventstore.secrets import ENV_KEY, ENV_KEY_FILE, key_source
from signin_webhooks.eventstore.settings import SETTINGS

_KEY_SETS = (
    f"where the key that seals secrets is kept (read-only: ${ENV_KEY}, else the file"
    f" ${ENV_KEY_FILE}, else the database path + .key)"
)


@main.group(invoke_without_command=True)
@click.pass_context
def settings(ctx: click.Context) -> None:
    """Show or change installation settings (`settings` alone shows them)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show)


@settings.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_system
def show(system: WebhookSystem, as_json: bool = False) -> None:
    """Show every setting, its value and what it sets."""
    current = system.settings.show()
    values = current.shown()
    source = key_source(system.path)
    missing = "" if source.present else " (missing)"
    values["secrets_key"] = f"{source.kind}:{source.where}{missing}"
    if as_json:
        echo_json({**current.typed(), "secrets_key": values["secrets_key"]})
    else:
        what = {**{k: v[3] for k, v in SETTINGS.items()}, "secrets_key": _KEY_SETS}
        echo_table([(k, v, what[k]) for k, v in values.items()], ["key", "value", "sets"])


@settings.command(name="set")
@click.argument("key")
@click.argument("value")
@pass_writer
def set_(system: WebhookSystem, key: str, value: str) -> None:
    """Change one setting: `settings set delivery_retention 72h`."""
    shown = system.settings.set(key, value).shown()
    echo(f"{key}: {shown[key]}")
