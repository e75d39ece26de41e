"""Commands that keep watching (`deliveries list --follow`, `status --watch`) until Ctrl-C,
which ends them as their normal way out: exit 0, no traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from signin_webhooks.eventstore.durations import parse_duration

FOLLOW_INTERVAL = 0.2  # how often `--follow` looks for new records: cheap, one indexed read


def interval_option(default: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--interval",
        default=default,
        show_default=True,
        metavar="DURATION",
        help="How often to redraw (a duration: 500ms, 2s, 1m).",
    )


def parse_interval(text: str) -> float:
    return parse_duration(text, what="interval", minimum=0.1, maximum=3600)


def until_interrupted(step: Callable[[], None], interval: float) -> None:
    """Call `step` now and every `interval` seconds until Ctrl-C (SIGINT)."""
    try:
        while True:
            step()
            time.sleep(interval)
    except KeyboardInterrupt:
        click.echo(err=True)  # the terminal's `^C` stands alone on its line
