"""Installation settings, kept in the log as events like every other change of state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from signin_webhooks.eventstore.durations import DAY, format_duration, parse_duration
from signin_webhooks.eventstore.endpoints import validate_url
from signin_webhooks.eventstore.errors import InvalidInput
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.log import Record
from signin_webhooks.eventstore.projection import Projection

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def parse_bool(text: str, *, what: str) -> bool:
    value = str(text).strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InvalidInput(f"{what} {text!r} must be true or false (also 1/0, yes/no)")


def _whole(low: int, high: int) -> Callable[[str, str], int]:
    def parse(text: str, what: str) -> int:
        value = str(text).strip()
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise InvalidInput(f"{what} {text!r} must be a whole number from {low} to {high}")
        return int(text)

    return parse


def _percent(text: str, what: str) -> float:
    """`10%` (or `10`) as 0.1: whole percents from 0 to 100."""
    value = str(text).strip().removesuffix("%").strip()
    if not (value.isascii() and value.isdigit()) or not 0 <= int(value) <= 100:
        raise InvalidInput(f"{what} {text!r} must be a percentage from 0% to 100%, such as 10%")
    return int(value) / 100


def _show_percent(value: float) -> str:
    return f"{round(value * 100)}%"


def _horizon(text: str, what: str) -> float | None:
    if str(text).strip().lower() == "off":
        return None
    return parse_duration(str(text), what=what, minimum=1, maximum=3650 * DAY)


def _show_horizon(value: float | None) -> str:
    return "off" if value is None else format_duration(value)


#: key -> (default as written, parse(text, what), print(value), what it sets)
SETTINGS: dict[str, tuple[str, Callable[[str, str], Any], Callable[[Any], str], str]] = {
    "delivery_retention": (
        "72h",
        lambda t, w: parse_duration(str(t), what=w, minimum=1, maximum=3650 * DAY),
        format_duration,
        "how long delivery records are kept after they settle",
    ),
    "log_retention": (
        "off",
        _horizon,
        _show_horizon,
        "compact Sign In events older than this (never one still to be delivered); off keeps all",
    ),
    "allow_private_networks": (
        "false",
        lambda t, w: parse_bool(t, what=w),
        lambda v: "true" if v else "false",
        "allow endpoints on loopback, private and other non-public addresses",
    ),
    "require_https": (
        "false",
        lambda t, w: parse_bool(t, what=w),
        lambda v: "true" if v else "false",
        "refuse plain http:// endpoint URLs when a subscription is created or its URL changed",
    ),
    "auto_disable_after": (
        "120h",
        lambda t, w: parse_duration(str(t), what=w, maximum=3650 * DAY),
        format_duration,
        "disable a subscription failing this long (its own setting wins); 0 never disables",
    ),
    "retry_jitter": (
        "10%",
        _percent,
        _show_percent,
        "each retry waits up to this much longer than its schedule says, at random, so"
        " endpoints that failed together are not retried together",
    ),
    "operations_url": (
        "off",
        lambda t, w: None if str(t).strip().lower() == "off" else validate_url(str(t).strip()),
        lambda v: "off" if v is None else v,
        "the operations endpoint told when a subscription fails, is disabled or recovers; off",
    ),
    "delivery_pool_size": (
        "16",
        _whole(1, 256),
        str,
        "delivery actors kept ready; while every one is busy another starts",
    ),
    "connections_per_host": (
        "4",
        _whole(1, 64),
        str,
        "concurrent connections to one endpoint address and port",
    ),
    "worker_lease": (
        "15s",
        lambda t, w: parse_duration(str(t), what=w, minimum=1, maximum=DAY),
        format_duration,
        "on PostgreSQL: how long a worker keeps its subscriptions unrenewed (a killed worker's"
        " pass to the others after this)",
    ),
    "max_request_bytes": (
        "67108864",
        _whole(1024, 1 << 30),
        str,
        "largest request body `serve` takes (bytes; 64 MiB); a larger one is refused with 413",
    ),
    "idempotency_window": (
        "24h",
        lambda t, w: parse_duration(str(t), what=w, minimum=1, maximum=3650 * DAY),
        format_duration,
        "how long an Idempotency-Key answers a retry with its first answer; after it, the key"
        " makes a new request",
    ),
}


class SettingChanged(InternalEvent, frozen=True, tag="settings.changed"):
    key: str
    value: str


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The installation settings in force, parsed."""

    delivery_retention: float
    log_retention: float | None
    allow_private_networks: bool
    require_https: bool
    auto_disable_after: float
    retry_jitter: float
    operations_url: str | None
    delivery_pool_size: int
    connections_per_host: int
    worker_lease: float
    max_request_bytes: int
    idempotency_window: float
    #: the durations as their operator wrote them (`90m` stays `90m`)
    written: dict[str, str] = {}

    def shown(self) -> dict[str, str]:
        """Each setting as text, as it is written to `settings set`."""
        return {
            key: self.written.get(key) or SETTINGS[key][2](getattr(self, key)) for key in SETTINGS
        }

    def typed(self) -> dict[str, str | int | bool]:
        """For JSON: numbers and booleans as such, durations as written."""
        text = self.shown()
        return {
            key: value if isinstance(value, int) else text[key]  # a bool is an int too
            for key, value in ((key, getattr(self, key)) for key in SETTINGS)
        }


def check_setting(key: str, value: str) -> str:
    """The value as it will be stored, or an error naming the valid keys or the rule."""
    if key not in SETTINGS:
        raise InvalidInput(f"unknown setting {key!r}; settings: {', '.join(SETTINGS)}")
    parsed = SETTINGS[key][1](value, key)
    if key in DURATIONS and parsed is not None:
        return str(value).strip()  # as written, beside nothing: its seconds parse back from it
    return SETTINGS[key][2](parsed)


DURATIONS = (
    "delivery_retention",
    "log_retention",
    "auto_disable_after",
    "worker_lease",
    "idempotency_window",
)


class InstallationSettings(Projection):
    name = "settings"
    tables = ("settings",)
    reads_internal = True
    schema = "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)"

    def apply(self, conn: Any, records: list[Record]) -> None:
        tag = SettingChanged.type_name()
        changes = [record.event() for record in records if record.type == tag]
        conn.executemany(
            "INSERT INTO settings (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(c.key, c.value) for c in changes],  # type: ignore[attr-defined]  # SettingChanged
        )

    @staticmethod
    def current(conn: Any) -> Settings:
        written = {key: default for key, (default, *_rest) in SETTINGS.items()}
        written.update(conn.execute("SELECT key, value FROM settings"))
        known = {k: v for k, v in written.items() if k in SETTINGS}
        return Settings(
            **{k: SETTINGS[k][1](v, k) for k, v in known.items()},
            written={k: v for k, v in known.items() if k in DURATIONS and v != "off"},
        )
