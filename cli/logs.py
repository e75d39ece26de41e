"""Log lines on stderr for `run` and `serve`: `text` for people and journald, `json` for
machines, one line per record either way; `--quiet` keeps warnings and errors only."""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import sys
from typing import IO, Any

import click
import msgspec

FORMATS = ("text", "json")
HELD = 100_000  # records held before `open` at most; then they go out as they come
_encode = msgspec.json.Encoder().encode


def _time(record: logging.LogRecord) -> str:
    at = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The activity's own fields, or the logger and its message for any other record."""
    fields = getattr(record, "activity", None)
    if fields is not None:
        return dict(fields)
    found: dict[str, Any] = {"event": "message", "logger": record.name}
    found["message"] = record.getMessage()
    if record.exc_info:
        found["error"] = logging.Formatter().formatException(record.exc_info)
    return found


def _text_value(value: Any) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if text == "" or any(c in text for c in ' "=\\') or not text.isprintable():
        return _encode(text).decode()  # quoted, every control character escaped
    return text


class TextFormatter(logging.Formatter):
    """`2026-11-27T15:06:56.358Z info attempt delivery=dlv_... attempt=1 result=ok ...`"""

    def format(self, record: logging.LogRecord) -> str:
        fields = _fields(record)
        event = fields.pop("event")
        pairs = " ".join(f"{k}={_text_value(v)}" for k, v in fields.items() if v is not None)
        return f"{_time(record)} {record.levelname.lower()} {event} {pairs}".rstrip()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time`, `level`, `event` and the event's fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": _time(record), "level": record.levelname.lower(), **_fields(record)}
        return _encode(line).decode()


class RunLog:
    """The log of one `run` or `serve`: its records go to stderr (or `stream`) in `log_format`.
    Until `open`, records are held, so that the line saying the system started comes first."""

    def __init__(
        self,
        log_format: str,
        quiet: bool,
        stream: IO[str] | None = None,
        *,
        loggers: tuple[str, ...] = (),
    ) -> None:
        self.quiet = quiet
        #: the system's own logger, and those of the libraries whose lines go out beside it
        self.loggers = ("signin_webhooks", *loggers)
        self.target = logging.StreamHandler(stream or sys.stderr)
        self.target.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
        self.json = log_format == "json"
        self.held = logging.handlers.MemoryHandler(
            HELD, flushLevel=logging.CRITICAL + 1, target=self.target, flushOnClose=False
        )
        self.handler: logging.Handler = self.held
        for name in self.loggers:
            logger = logging.getLogger(name)
            logger.addHandler(self.held)
            logger.setLevel(logging.WARNING if quiet else logging.INFO)
            logger.propagate = False

    def say(self, event: str, text: str, **fields: Any) -> None:
        """A line of the command itself, now: `signin-webhooks: TEXT`, or its JSON object."""
        if self.quiet:
            return
        if not self.json:
            self.target.stream.write(f"signin-webhooks: {text}\n")
            self.target.flush()
            return
        record = logging.makeLogRecord(
            {"name": "signin_webhooks.run", "levelno": logging.INFO, "levelname": "INFO",
             "msg": event, "activity": {"event": event, **fields}}
        )  # fmt: skip
        self.target.handle(record)

    def open(self) -> None:
        """Write what was held, and every record from now on as it comes."""
        for name in self.loggers:
            logger = logging.getLogger(name)
            logger.addHandler(self.target)
            logger.removeHandler(self.held)
        self.held.flush()
        self.handler = self.target

    def close(self) -> None:
        for name in self.loggers:
            logger = logging.getLogger(name)
            logger.removeHandler(self.held)
            logger.removeHandler(self.target)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True


def options(f: Any) -> Any:
    """`--log-format` and `--quiet`, for each command that runs the system."""
    f = click.option(
        "--quiet", is_flag=True, help="Log warnings and errors only, not each attempt."
    )(f)
    return click.option(
        "--log-format",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Log lines on stderr: text, or one JSON object per line.",
    )(f)
