"""`copy --from SRC --to DST`: a log moved between a SQLite file and a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import click

from signin_webhooks.cli.app import main
from signin_webhooks.eventstore import InvalidInput, Store
from signin_webhooks.eventstore.copying import copy_log
from signin_webhooks.eventstore.postgres import is_url


@main.command()
@click.option("--from", "source", required=True, metavar="PATH|URL", help="The log to copy.")
@click.option(
    "--to", "destination", required=True, metavar="PATH|URL", help="An empty database to fill."
)
def copy(source: str, destination: str) -> None:
    """Copy a log between backends, sequences and bytes as they are, and rebuild the
    projections on the destination. Stop `run` on the source first to copy all of it."""
    if not is_url(source) and not Path(source).is_file():
        raise InvalidInput(f"--from '{source}': no such database file; give an existing one")
    src = Store(source)
    try:
        dst = Store(destination)
        try:
            copied = copy_log(src, dst)
        finally:
            dst.close()
    finally:
        src.close()
    to = dst.db.location
    click.echo(f"copied {copied.events} events, through sequence {copied.last_sequence}, to {to}")
