"""`tokens create|list|revoke`: who may use the HTTP API, and for what."""

from __future__ import annotations

from typing import Any

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system, pass_writer
from signin_webhooks.cli.output import echo_fields, echo_json, echo_table
from signin_webhooks.eventstore import InvalidInput
from signin_webhooks.eventstore.tokens import Token


def token_view(token: Token) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scope": token.scope,
        "organization_id": token.organization_id,
        "context_id": token.context_id,
        "read_only": token.read_only,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
    }


@main.group()
def tokens() -> None:
    """Make, list and revoke the bearer tokens of the HTTP API (`serve`)."""


@tokens.command()
@click.option("--scope", type=click.Choice(["admin"]), help="admin: everything.")
@click.option("--organization", help="That organization and every context in it.")
@click.option(
    "--context",
    help="Only that context; with --organization, it records the context as part of it.",
)
@click.option("--read-only", is_flag=True, help="It reads, and changes nothing.")
@click.option("--name", default="", help="A label for the list.")
@click.option("--expires", metavar="DURATION", help="It stops working after this long (30d).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_writer
def create(
    system: WebhookSystem,
    scope: str | None,
    organization: str | None,
    context: str | None,
    read_only: bool,
    name: str,
    expires: str | None,
    as_json: bool,
) -> None:
    """Make a token; prints its secret, this once (the log keeps only its hash)."""
    if scope is None and organization is None and context is None:
        raise InvalidInput("give --scope admin, --organization ID or --context ID")
    kind = "admin" if scope else "context" if context is not None else "organization"
    token, secret = system.tokens.create(
        scope=kind,  # type: ignore[arg-type]  # one of the three, by construction
        organization=organization,
        context=context,
        read_only=read_only,
        name=name,
        expires=expires,
    )
    shown = {"id": token.id, "token": secret, **token_view(token)}
    echo_json(shown) if as_json else echo_fields(shown)


@tokens.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@pass_system
def list_(system: WebhookSystem, as_json: bool) -> None:
    """Every token made, revoked ones marked; never their secrets."""
    found = system.tokens.list()
    if as_json:
        echo_json([token_view(t) for t in found])
        return
    echo_table(
        [
            (
                t.id,
                t.name,
                t.scope + "".join(f" {v}" for v in (t.organization_id, t.context_id) if v),
                "read-only" if t.read_only else "read-write",
                t.created_at,
                t.expires_at,
                "revoked" if t.revoked_at else "active",
            )
            for t in found
        ],
        ["id", "name", "scope", "access", "created", "expires", "state"],
    )


@tokens.command()
@click.argument("token_id", metavar="ID")
@pass_writer
def revoke(system: WebhookSystem, token_id: str) -> None:
    """Revoke a token: requests with it are refused from now on."""
    token = system.tokens.revoke(token_id)
    click.echo(f"token {token.id} revoked at {token.revoked_at}")
