"""`subscriptions ...`: create, inspect, change and remove subscriptions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.subscription_manager import Saved
from signin_webhooks.cli.app import main, pass_system, pass_writer
from signin_webhooks.cli.output import echo, echo_fields, echo_json, echo_table
from signin_webhooks.eventstore.durations import format_duration
from signin_webhooks.eventstore.endpoints import is_plain_http
from signin_webhooks.eventstore.subscriptions import REDACTED, Subscription

PLAIN_HTTP = "(plain http: unencrypted)"


F = TypeVar("F", bound=Callable[..., Any])


def view(sub: Subscription, *, reveal: bool = False) -> dict[str, Any]:
    """A subscription as the CLI shows it: durations as written, secrets redacted."""
    f = sub.fields
    return {
        "id": sub.id,
        "name": f.name,
        "description": f.description,
        "scope": f.scope,
        f"{f.scope}_id": f.scope_id,
        "url": f.url,
        "plain_http": is_plain_http(f.url),
        "content_type": f.content_type,
        "headers": f.headers if reveal else dict.fromkeys(f.headers, REDACTED),
        "events": list(f.events),
        "max_events": f.max_events,
        "max_bytes": f.max_bytes,
        "flush_interval": f.shown("flush_interval"),
        "retry_schedule": f.shown("retry_schedule"),
        "timeout": f.shown("timeout"),
        "auto_disable_after": f.shown("auto_disable_after"),
        "operations_url": f.operations_url,
        "enabled": sub.enabled,
        "disabled_reason": sub.disabled_reason or None,
        "health": sub.health,
        "failing_since": sub.failing_since,
        "last_success": sub.last_success_at,
        "backoff": format_duration(sub.backoff) if sub.backoff_until else None,
        "backoff_until": sub.backoff_until,
        "secrets": [
            {
                "number": s.number,
                "secret": s.value if reveal else REDACTED,
                "expires_at": s.expires_at,
            }
            for s in sub.secrets
        ],
        "created_at": sub.created_at,
        "updated_at": sub.updated_at,
        "deleted": sub.deleted,
        "deleted_at": sub.deleted_at,
    }


def _echo(
    sub: Subscription, as_json: bool, reveal: bool = False, secret: str | None = None
) -> None:
    shown = view(sub, reveal=reveal)
    if secret is not None:
        shown = {"id": sub.id, "secret": secret, **shown}
    if as_json:
        echo_json(shown)
        return
    state = "deleted" if sub.deleted else "enabled" if sub.enabled else "disabled"
    if shown.pop("plain_http"):
        shown["url"] += f" {PLAIN_HTTP}"
    shown = {"id": shown.pop("id"), "name": shown.pop("name"), "state": state, **shown}
    for key in ("headers",):
        shown[key] = ", ".join(f"{k}: {v}" for k, v in shown[key].items())
    shown["events"] = ", ".join(shown["events"])
    shown["secrets"] = ", ".join(
        f"#{s['number']} {s['secret']}" + (f" (until {s['expires_at']})" if s["expires_at"] else "")
        for s in shown["secrets"]
    )
    echo_fields(shown)


def _warn(saved: Saved) -> None:
    for warning in saved.warnings:
        echo(f"signin-webhooks: warning: {warning}", err=True)


@main.group()
def subscriptions() -> None:
    """Create, inspect, change and remove subscriptions."""


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")
reveal_option = click.option("--reveal", is_flag=True, help="Show secrets and header values.")


def _settings_options(*, creating: bool = False) -> Callable[[F], F]:
    """The options that set a subscription's fields; `creating` marks the required ones."""
    required = "  [required]" if creating else ""
    scope = "  [this or --organization required]" if creating else ""
    options = [
        click.option("--name", metavar="TEXT", help=f"Label for the list view.{required}"),
        click.option("--description", metavar="TEXT", help="Longer label."),
        click.option(
            "--url", metavar="URL",
            help=f"Endpoint that receives the POSTs (https, or http).{required}",
        ),
        click.option(
            "--context", metavar="ID", help=f"Scope: events of this Sign-In Context.{scope}"
        ),
        click.option(
            "--organization", metavar="ID",
            help="Scope: events of every context of this organization.",
        ),
        click.option(
            "--event", "events", multiple=True, metavar="TYPE",
            help="Type or pattern (signin.session.*); repeatable; default all.",
        ),
        click.option(
            "--header", "headers", multiple=True, metavar="'NAME: VALUE'",
            help="Custom header; repeatable.",
        ),
        click.option(
            "--header-file",
            type=click.File("r", encoding="utf-8"),
            help="Custom headers, 'Name: value' a line, from this file or - for stdin: a token"
            " stays out of the process list and the shell history.",
        ),
        click.option(
            "--content-type", metavar="TYPE",
            help="application/json (default), */json, *+json or application/x-ndjson.",
        ),
        click.option(
            "--max-events", metavar="N", help="Events per batch, 1..1000000 (default 20000)."
        ),
        click.option(
            "--max-bytes", metavar="N",
            help="Body bytes per batch, 65536..67108864 (default 16 MiB).",
        ),
        click.option(
            "--flush-interval", metavar="DURATION",
            help="Longest wait of a batch's oldest event, 0..24h (default 20m).",
        ),
        click.option(
            "--retry-schedule", metavar="DURATIONS",
            help="Delays between attempts (default 2m,4m,8m,16m,32m).",
        ),
        click.option(
            "--timeout", metavar="DURATION", help="Deadline of one attempt (default 30s)."
        ),
        click.option(
            "--auto-disable-after", metavar="DURATION",
            help="Disable it once failing this long; 0 never (default: the setting, 120h).",
        ),
        click.option(
            "--operations-url", metavar="URL",
            help="Endpoint told when it fails, is disabled or recovers (default: the setting).",
        ),
    ]  # fmt: skip

    def decorate(f: F) -> F:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """Only the options given; empty repeatables mean 'not given'. The lines of --header-file
    join the --header values."""
    source = values.pop("header_file", None)
    if source is not None:
        lines = [line.rstrip("\r\n") for line in source.read().splitlines()]
        values["headers"] = (*values.get("headers", ()), *(line for line in lines if line.strip()))
    return {k: v for k, v in values.items() if v is not None and v != ()}


@subscriptions.command()
@_settings_options(creating=True)
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@click.option(
    "--from-sequence", type=click.IntRange(min=1), metavar="N",
    help="Also send the events already in the log from sequence N on.",
)  # fmt: skip
@click.option(
    "--since", metavar="TIME",
    help="Also send the events already in the log recorded since TIME (RFC 3339, or ago: 2d).",
)  # fmt: skip
@json_option
@pass_writer
def create(system: WebhookSystem, disabled: bool, as_json: bool, **values: Any) -> None:
    """Create a subscription; prints its id and its secret (shown this once).

    A new subscription receives the events published after it is created. To give it events
    the log already holds, start it earlier with --from-sequence or --since: those go out in
    new batches, as `subscriptions recover` sends them.

    \b
    Examples:
      signin-webhooks subscriptions create --name CRM --context ctx_lobby \\
        --url https://crm.example.com/hooks/signin --event 'signin.session.*'
      signin-webhooks subscriptions create --name SIEM --organization org_acme \\
        --url https://siem.example.com/in --since 2d
    """
    given = _given(values)
    saved = system.subscriptions.create(
        name=given.pop("name", None), url=given.pop("url", None), enabled=not disabled, **given
    )
    _warn(saved)
    if saved.recovered:
        echo(
            f"signin-webhooks: {saved.recovered} events already in the log requested for it;"
            " `run` sends them",
            err=True,
        )
    _echo(saved.subscription, as_json, secret=saved.secret)


@subscriptions.command(name="list")
@click.option("--all", "include_deleted", is_flag=True, help="Include deleted subscriptions.")
@json_option
@reveal_option
@pass_system
def list_(system: WebhookSystem, include_deleted: bool, as_json: bool, reveal: bool) -> None:
    """List subscriptions, a readable table or --json."""
    subs = system.subscriptions.list(include_deleted=include_deleted)
    if reveal:
        subs = [system.subscriptions.reveal(s) for s in subs]
    if as_json:
        echo_json([view(s, reveal=reveal) for s in subs])
        return
    echo_table(
        [
            (
                s.id,
                s.fields.name,
                f"{s.fields.scope} {s.fields.scope_id}",
                s.fields.url + (f" {PLAIN_HTTP}" if is_plain_http(s.fields.url) else ""),
                ",".join(s.fields.events),
                "deleted" if s.deleted else "enabled" if s.enabled else "disabled",
            )
            for s in subs
        ],
        ["id", "name", "scope", "url", "events", "state"],
    )


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@json_option
@reveal_option
@pass_system
def show(system: WebhookSystem, subscription_id: str, as_json: bool, reveal: bool) -> None:
    """Show one subscription; a deleted one as it was when deleted, marked deleted."""
    sub = system.subscriptions.get(subscription_id, deleted_ok=True)
    _echo(system.subscriptions.reveal(sub) if reveal else sub, as_json, reveal)


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@_settings_options()
@json_option
@pass_system
def update(system: WebhookSystem, /, subscription_id: str, as_json: bool, **values: Any) -> None:
    """Change the given settings of a subscription; the rest keep their values."""
    saved = system.subscriptions.update(subscription_id, **_given(values))
    _warn(saved)
    _echo(saved.subscription, as_json)


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@click.option("--from-now", is_flag=True, help="Skip what was published while it was disabled.")
@json_option
@pass_system
def enable(system: WebhookSystem, subscription_id: str, from_now: bool, as_json: bool) -> None:
    """Resume delivery where it stopped (or, with --from-now, from now on)."""
    _echo(system.subscriptions.enable(subscription_id, from_now=from_now), as_json)


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@json_option
@pass_system
def disable(system: WebhookSystem, subscription_id: str, as_json: bool) -> None:
    """Stop delivery without deleting; what is published meanwhile waits."""
    _echo(system.subscriptions.disable(subscription_id), as_json)


@subscriptions.command()
@click.argument("subscription_id", metavar="ID")
@json_option
@pass_system
def delete(system: WebhookSystem, subscription_id: str, as_json: bool) -> None:
    """Delete a subscription and cancel what it has pending."""
    _echo(system.subscriptions.delete(subscription_id), as_json)


@subscriptions.command(name="rotate-secret")
@click.argument("subscription_id", metavar="ID")
@click.option(
    "--grace",
    default="24h",
    show_default=True,
    metavar="DURATION",
    help="How long the old secrets stay valid; 0 retires them now.",
)
@json_option
@pass_system
def rotate_secret(system: WebhookSystem, subscription_id: str, grace: str, as_json: bool) -> None:
    """Make a new signing secret; prints it once.

    Until the grace ends, deliveries are signed with the new secret and the old one, so a
    consumer holding either accepts them. --grace 0 retires every old secret at once.

    \b
    Examples:
      signin-webhooks subscriptions rotate-secret sub_06h1tygwe41xpaan --grace 48h
      signin-webhooks subscriptions rotate-secret sub_06h1tygwe41xpaan --grace 0
    """
    saved = system.subscriptions.rotate_secret(subscription_id, grace=grace)
    _echo(saved.subscription, as_json, secret=saved.secret)


@subscriptions.command(name="revoke-secret")
@click.argument("subscription_id", metavar="ID")
@click.argument("number", metavar="NUMBER", type=int)
@json_option
@pass_system
def revoke_secret(system: WebhookSystem, subscription_id: str, number: int, as_json: bool) -> None:
    """Retire an old secret still in its grace, now: one that leaked, say.

    NUMBER is the secret's number as `show` lists it (`#12`); deliveries from now on are no
    longer signed with it.
    """
    _echo(system.subscriptions.revoke_secret(subscription_id, number), as_json)
