"""The `signin-webhooks` command group: the database option and one-line errors."""

from __future__ import annotations

import functools
import importlib
import os
import sqlite3
import stat
import sys
from collections.abc import Sequence
from typing import Any

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.system import DEFAULT_DB, ENV_DB
from signin_webhooks.cli.output import echo
from signin_webhooks.eventstore import InvalidInput, NotFound, SigninWebhooksError, postgres
from signin_webhooks.eventstore.database import store_error
from signin_webhooks.eventstore.errors import NoDatabase
from signin_webhooks.eventstore.secrets import key_source

# The command line's name for each field and operation a product error names (the rest it
# names as the Python API does): an option for a field, a command for an operation.
NAMES = {
    "db": "--db",
    "name": "--name",
    "description": "--description",
    "url": "--url",
    "context": "--context",
    "organization": "--organization",
    "scope": "--scope",
    "scope_id": "--context/--organization",
    "events": "--event",
    "header": "--header",
    "content_type": "--content-type",
    "max_events": "--max-events",
    "max_bytes": "--max-bytes",
    "flush_interval": "--flush-interval",
    "retry_schedule": "--retry-schedule",
    "timeout": "--timeout",
    "auto_disable_after": "--auto-disable-after",
    "operations_url": "--operations-url",
    "grace": "--grace",
    "from_sequence": "--from-sequence",
    "since": "--since",
    "until": "--until",
    "status": "--status",
    "event_type": "--type",
    "types": "--type",
    "force": "--force",
    "expires": "--expires",
    "interval": "--interval",
    "metrics_port": "--metrics-port",
    "metrics_host": "--metrics-host",
    "allow_private_networks": "--allow-private-networks",
    "subscriptions.list()": "subscriptions list",
    "subscriptions.list(include_deleted=True)": "subscriptions list --all",
    "subscriptions.test()": "subscriptions test",
    "deliveries.list()": "deliveries list",
    "tokens.list()": "tokens list",
    "tokens.create()": "signin-webhooks tokens create",
    "settings.set('allow_private_networks', 'true')": (
        "signin-webhooks settings set allow_private_networks true"
    ),
}


class App(click.Group):
    """Turns every product error into one line on stderr: exit 2 for bad input, 1 otherwise.
    The commands in `lazy` (name: module) are imported when named, so that the others start
    without the web framework."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            importlib.import_module(self.lazy[cmd_name])  # its decorator adds it to the group
            accept_global_options(self, self.commands[cmd_name])
        return super().get_command(ctx, cmd_name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            fail("aborted", 1)
        except click.exceptions.NoArgsIsHelpError as e:
            click.echo(e.ctx.get_help())  # a bare group asks for its help: print it as --help does
            sys.exit(0)
        except click.ClickException as e:
            hint = " (see --help)" if isinstance(e, click.UsageError) else ""
            fail(e.format_message().replace("\n", " ") + hint, e.exit_code)
        except click.exceptions.Exit as e:
            sys.exit(e.exit_code)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (InvalidInput, NotFound) as e:
            fail(in_options(e), 2)
        except NoDatabase as e:
            fail(f"{e}; check --db (or {ENV_DB}), or create it: `publish` and"
                 " `subscriptions create` do", 1)  # fmt: skip
        except SigninWebhooksError as e:
            fail(in_options(e), 1)
        except sqlite3.Error as e:  # a read that met a damaged, locked or vanished database
            fail(in_options(store_error(e, getattr(ctx.obj, "path", "the database"))), 1)
        except postgres.driver_errors() as e:  # a read that met a server gone away
            location = postgres.shown(str(getattr(ctx.obj, "path", "the database")))
            fail(in_options(postgres.store_error(e, location)), 1)
        except UnicodeEncodeError as e:  # argv bytes that are not UTF-8 arrive as surrogates
            shown = e.object if isinstance(e.object, str) else repr(e.object)
            fail(f"{shown[:80]!r} is not UTF-8 text; give every value as UTF-8", 2)
        except BrokenPipeError:
            sys.stderr.close()  # the reader went away (`| head`): not an error
            sys.exit(0)


def in_options(error: SigninWebhooksError) -> str:
    """The error's message with the command line's option or command for each name it marks."""
    return error.worded(NAMES)


def fail(message: str, code: int) -> None:
    for line in message.splitlines():
        echo(f"signin-webhooks: {line}", err=True)
    sys.exit(code)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar=ENV_DB,
    default=DEFAULT_DB,
    show_default=True,
    metavar="PATH|URL",
    help=f"The SQLite database file, or a postgresql:// URL (env {ENV_DB}).",
)
@click.option(
    "--allow-private-networks",
    is_flag=True,
    help="Allow endpoints on non-public addresses for this process "
    "(env SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS).",
)
@click.version_option(package_name="signin-webhooks")
@click.pass_context
def main(ctx: click.Context, db: str, allow_private_networks: bool) -> None:
    """signin-webhooks: Sign In events, batched and delivered to your endpoints."""
    _open(ctx, db, allow_private_networks)


def _open(ctx: click.Context, db: str, allow_private_networks: bool) -> None:
    """The system the command drives: it reads and writes the log, and delivers only in `run`."""
    system = WebhookSystem(
        db, deliver=False, allow_private_networks=allow_private_networks or None, create=False
    )
    ctx.obj = system
    ctx.call_on_close(system.stop)
    for warning in exposed_files(db):
        click.echo(f"signin-webhooks: warning: {warning}", err=True)


def exposed_files(db: str) -> list[str]:
    """The database file and the key file, where they exist with group or world access: the
    database holds every event, the key opens every secret."""
    key = key_source(db)
    found = [] if "://" in db else [("database", db)]
    if key.kind == "file":
        found.append(("key file", key.where))
    warnings = []
    for what, path in found:
        try:
            mode = os.stat(path).st_mode
        except OSError:
            continue
        if stat.S_ISREG(mode) and mode & 0o077:
            warnings.append(
                f"{what} '{path}' can be read by its group or others (mode"
                f" {stat.S_IMODE(mode):04o}); restrict it: chmod 600 '{path}'"
            )
    return warnings


pass_system = click.make_pass_decorator(WebhookSystem)


def pass_writer(f: Any) -> Any:
    """pass_system for a command that writes: only these create a database that is not there."""

    @pass_system
    @functools.wraps(f)
    def writer(system: WebhookSystem, *args: Any, **kwargs: Any) -> Any:
        system.create = True
        return f(system, *args, **kwargs)

    return writer


def _given(ctx: click.Context) -> WebhookSystem:
    """The system the command group made from the options before the command."""
    given = ctx.find_object(WebhookSystem)
    assert given is not None, "the command group makes the system before its commands run"
    return given


def _db_here(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _open(ctx, value, bool(_given(ctx).allow_private_override))


def _private_here(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        _open(ctx, str(_given(ctx).path), True)


_HERE = (
    click.Option(
        ["--db"], metavar="PATH", expose_value=False, callback=_db_here, is_eager=True,
        help=f"The SQLite database file (env {ENV_DB}); also accepted before the command.",
    ),
    click.Option(
        ["--allow-private-networks"], is_flag=True, expose_value=False,
        callback=_private_here, is_eager=True,
        help="Allow endpoints on non-public addresses for this process.",
    ),
)  # fmt: skip


def accept_global_options(group: click.Group, *commands: click.Command) -> None:
    """`--db` and `--allow-private-networks` work after the command too (`status --db a.db`):
    every command of the tree (or those given) takes them, and they set what the group's
    options set."""
    for command in commands or tuple(group.commands.values()):
        if isinstance(command, click.Group):
            accept_global_options(command)
            continue
        names = {name for param in command.params for name in param.opts}
        command.params.extend(o for o in _HERE if not names.intersection(o.opts))
