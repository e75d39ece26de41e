"""The `bench` command: runs every scenario, shows progress, prints a table or JSON."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.cli.app import main, pass_system
from signin_webhooks.cli.bench.deliver import deliver
from signin_webhooks.cli.bench.deliver_small import deliver_small
from signin_webhooks.cli.bench.fanout import fan_out
from signin_webhooks.cli.bench.http import ingest_http, ingest_http_single
from signin_webhooks.cli.bench.ingest import ingest_bulk, ingest_single
from signin_webhooks.cli.bench.isolation import isolation
from signin_webhooks.cli.bench.latency import latency
from signin_webhooks.cli.bench.memory import memory, publish_memory
from signin_webhooks.cli.bench.places import Places
from signin_webhooks.cli.bench.recover import recover
from signin_webhooks.cli.bench.rows import Row
from signin_webhooks.cli.bench.sink import Sink
from signin_webhooks.cli.bench.workers import deliver_workers
from signin_webhooks.cli.output import echo_json, echo_table
from signin_webhooks.eventstore import InvalidInput
from signin_webhooks.eventstore.postgres import is_url

#: scenario -> (full size, quick size)
SIZES = {
    "ingest-bulk": (100_000, 20_000),
    "ingest-single": (2_000, 300),
    "ingest-http": (100_000, 20_000),
    "ingest-http-single": (2_000, 300),
    "fan-out": (200_000, 20_000),
    "deliver": (200_000, 20_000),
    "deliver-small": (20_000, 2_000),
    "isolation": (2_000, 300),
    "latency": (2_000, 300),
    "memory": ((10_000, 100_000, 1_000_000), (1_000, 10_000, 100_000)),
    "publish-memory": ((10_000, 1_000_000), (10_000, 100_000)),
    "recover": (1_000_000, 20_000),
    "deliver-workers": (20_000, 3_000),
}
POSTGRES_ONLY = ("deliver-workers",)


@main.command()
@click.option("--quick", is_flag=True, help="Every scenario scaled down: under a minute.")
@click.option("--json", "as_json", is_flag=True, help='Print {"scenarios": [...]}.')
@click.option("--only", multiple=True, type=click.Choice(list(SIZES)), help="Run just these.")
@pass_system
def bench(system: WebhookSystem, quick: bool, as_json: bool, only: tuple[str, ...]) -> None:
    """Measure every stage beside a baseline run in the same process, as a ratio. Given
    --db postgresql://..., every scenario runs on that server (each in a schema of its own,
    dropped after), deliver-workers too."""
    rows: list[Row] = []
    server = str(system.path) if is_url(system.path) else None
    with tempfile.TemporaryDirectory() as scratch:
        folder = Places(Path(scratch), server)
        sink = Sink()
        try:
            scenarios: dict[str, Callable[[Any], Row | list[Row]]] = {
                "ingest-bulk": lambda n: ingest_bulk(folder, n),
                "ingest-single": lambda n: ingest_single(folder, n),
                "ingest-http": lambda n: ingest_http(folder, n),
                "ingest-http-single": lambda n: ingest_http_single(folder, n),
                "fan-out": lambda n: fan_out(folder, n),
                "deliver": lambda n: deliver(folder, sink, n),
                "deliver-small": lambda n: deliver_small(folder, sink, n),
                "isolation": lambda n: isolation(folder, sink, n),
                "latency": lambda n: latency(folder, n),
                "memory": lambda n: memory(folder, *n),
                "publish-memory": lambda n: publish_memory(folder, *n),
                "recover": lambda n: recover(folder, sink, n),
                "deliver-workers": lambda n: deliver_workers(folder, n),
            }
            for name, run in scenarios.items():
                if only and name not in only:
                    continue
                if name in POSTGRES_ONLY and server is None:
                    if only:  # asked for by name: say why it does not run
                        raise InvalidInput(f"{name} runs on PostgreSQL: give --db postgresql://...")
                    continue
                size = SIZES[name][1 if quick else 0]
                click.echo(f"bench: {name} ({size}) ...", err=True, nl=False)
                started = time.perf_counter()
                result = run(size)
                rows += result if isinstance(result, list) else [result]
                click.echo(f" {time.perf_counter() - started:.1f}s", err=True)
        finally:
            sink.close()
            folder.close()
    if as_json:
        echo_json({"scenarios": [r.as_dict() for r in rows]})
    else:
        echo_table(
            [(r.name, r.value, r.unit, r.baseline, r.ratio, r.note) for r in rows],
            ["name", "value", "unit", "baseline", "ratio", "note"],
        )
