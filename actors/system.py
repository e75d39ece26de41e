"""WebhookSystem: the one object a host program or the command line drives."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Self

import msgspec
import pykka

from signin_webhooks.actors.addresses import Resolver, system_resolver
from signin_webhooks.actors.clock import SystemClock
from signin_webhooks.actors.delivery_manager import DeliveryManager
from signin_webhooks.actors.idempotency import IdempotentRequests
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.actors.pipeline import Pipeline
from signin_webhooks.actors.runlock import (
    AlreadyRunning,
    holder,
    refuse_lost_database,
    run_lock,
    workers_running,
)
from signin_webhooks.actors.settings_manager import SettingsManager, allow_private_from_env
from signin_webhooks.actors.subscription_manager import SubscriptionManager
from signin_webhooks.actors.tokens import AccessTokens
from signin_webhooks.eventstore import (
    MAX_DEPTH,
    AppendResult,
    EventCounts,
    Filter,
    InvalidInput,
    Published,
    Record,
    SigninWebhooksError,
    Store,
    format_time,
    parse_time,
    read_events,
)
from signin_webhooks.eventstore.event_types import check_patterns
from signin_webhooks.eventstore.postgres import is_url
from signin_webhooks.eventstore.publishing import read_ahead, waits
from signin_webhooks.eventstore.retention import RetentionReport, run_retention
from signin_webhooks.eventstore.status import subscription_status

DEFAULT_DB = "signin-webhooks.db"
ENV_DB = "SIGNIN_WEBHOOKS_DB"
_encode = msgspec.json.encode


def database_path(path: str | os.PathLike[str] | None = None) -> str | os.PathLike[str]:
    """The database to use: the one given, else $SIGNIN_WEBHOOKS_DB, else ./signin-webhooks.db."""
    return path or os.environ.get(ENV_DB) or DEFAULT_DB


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """A bulk publish makes one long-lived object per event and frees them together: the cyclic
    garbage collector would scan them over and over (a tenth of a bulk call's time, measured)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _source(events: object) -> bytes | BinaryIO:
    if hasattr(events, "read"):
        return events  # type: ignore[return-value]  # a binary file, read a chunk at a time
    try:
        if isinstance(events, str):
            return events.encode()
        if isinstance(events, dict):
            return _encode(events)
        if isinstance(events, bytes):
            return events
        return _encode(list(events))  # type: ignore[call-overload]  # else refused below
    except RecursionError:
        raise InvalidInput(f"events are nested deeper than {MAX_DEPTH} levels") from None
    except (TypeError, UnicodeError, msgspec.EncodeError) as e:
        raise InvalidInput(f"events must be JSON text, a dict or a list of dicts ({e})") from None


def _checked(
    chunks: Iterator[list[Published]], check: Callable[[list[Published]], None]
) -> Iterator[list[Published]]:
    for chunk in chunks:
        check(chunk)
        yield chunk


class WebhookSystem:
    """Publish Sign In events, read the log, and run delivery; a context manager. Its parts:
    `subscriptions`, `deliveries` and `settings`, each built by a `construct_*` method that a
    subclass may override.

    `with WebhookSystem("hooks.db") as system: system.publish({...})`
    """

    def __init__(
        self,
        db: str | os.PathLike[str] | None = None,
        *,
        deliver: bool = True,
        clock: SystemClock | None = None,
        resolver: Resolver = system_resolver,
        allow_private_networks: bool | None = None,
        create: bool = True,
    ) -> None:
        """`deliver`: run the actors that batch and deliver (one process per database at a
        time); without it the system only reads and writes the log. `allow_private_networks`:
        True allows non-public endpoints for this process; None reads
        SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS, and otherwise the installation settings.
        `create`: make the database file if it does not exist (else NoDatabase)."""
        self.path = database_path(db)
        self.deliver = deliver
        self.clock = clock or SystemClock()
        self.resolver = resolver
        self.allow_private_override = (
            allow_private_from_env() if allow_private_networks is None else allow_private_networks
        )
        self._pipeline: Pipeline | None = None
        self.ledger = self.construct_ledger()
        self.create = create
        self.settings = self.construct_settings()
        self.deliveries = self.construct_deliveries()
        self.subscriptions = self.construct_subscriptions()
        self.tokens = self.construct_tokens()
        self.requests = self.construct_requests()

    # -- the parts

    def construct_ledger(self) -> Ledger:
        return Ledger(self.path, self.clock, self.wake)

    def construct_settings(self) -> SettingsManager:
        return SettingsManager(
            self.ledger, allow_private_override=self.allow_private_override, resolver=self.resolver
        )

    def construct_deliveries(self) -> DeliveryManager:
        return DeliveryManager(self.ledger)

    def construct_subscriptions(self) -> SubscriptionManager:
        return SubscriptionManager(
            self.ledger, self.settings, self.deliveries, resolver=self.resolver
        )

    def construct_tokens(self) -> AccessTokens:
        return AccessTokens(self.ledger)

    def construct_requests(self) -> IdempotentRequests:
        return IdempotentRequests(self.ledger)

    @property
    def create(self) -> bool:
        """Whether opening the database makes the file when it is not there."""
        return self.ledger.create

    @create.setter
    def create(self, value: bool) -> None:
        self.ledger.create = value

    # -- running

    def start(self) -> Self:
        lock = None
        if self.deliver and self._pipeline is None:
            if self.create:
                refuse_lost_database(self.path)  # before a lock of our own stands beside it
            lock = run_lock(self.path)
            try:
                lock.acquire()  # before anything else: a second `run` is refused at once
            except AlreadyRunning as e:
                raise AlreadyRunning(
                    e.holder, beside="; to publish and read beside it, pass deliver=False"
                ) from None
        try:
            store = self.ledger.open(lost_checked=lock is not None)
            if lock is not None:
                store.keyring.check()  # delivery signs: without the key, say so before starting
                self._pipeline = Pipeline(
                    lock, self.path, self.clock, self.resolver, self.allow_private_override,
                    self.settings.show(),
                )  # fmt: skip
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        return self

    def stop(self) -> None:
        if self._pipeline is not None:
            self._pipeline.stop()
            self._pipeline = None
        self.ledger.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def on_halt(self, callback: Callable[[str], None]) -> None:
        """Call `callback` with the reason should delivery halt by itself (its database file
        deleted, replaced or no longer writable): it takes no new work, and stopping it is the
        caller's to do. Needs a started system that delivers."""
        if self._pipeline is None:
            raise SigninWebhooksError("delivery is not running: start a system with deliver=True")
        self._pipeline.on_halt(callback)

    def running(self) -> str | None:
        """Who runs delivery from this database now, or None."""
        return holder(self.path)

    def workers(self) -> list[dict[str, Any]]:
        """On PostgreSQL, the live workers and the subscriptions each owns now; on SQLite, none
        (one `run` delivers them all)."""
        if not is_url(self.path):
            return []
        return [
            {"id": w.id, "name": w.name, "subscriptions": list(w.subscriptions)}
            for w in workers_running(str(self.path))
        ]

    @property
    def delivering(self) -> bool:
        """Whether this process runs delivery now."""
        return self._pipeline is not None

    @property
    def store(self) -> Store:
        """The log: opened on first use (reads and writes need no running delivery)."""
        return self.ledger.store

    # -- the log

    def publish(
        self,
        events: bytes | str | dict[str, Any] | Iterable[dict[str, Any]] | BinaryIO,
        *,
        check: Callable[[list[Published]], None] | None = None,
    ) -> AppendResult:
        """Append one event or many, all or none: JSON text (an object, an array or NDJSON),
        a binary file open for reading (NDJSON streams through in chunks), a dict, or a list of
        dicts; a stream that may pause (stdin, a pipe) is read to its end before the log is
        locked. At most MAX_INPUT_BYTES of input; events nest at most MAX_DEPTH deep. `check`
        sees each chunk of validated events before it is appended, and refuses the whole call
        by raising."""
        source = _source(events)
        chunks = read_events(source)
        if check is not None:
            chunks = _checked(chunks, check)
        if waits(source):  # a pipe: read to its end before the write lock is taken
            chunks = read_ahead(chunks)
        with _collector_paused(), self.store.errors():
            result = self.store.log.append_chunks(chunks)
        self.wake()
        return result

    def publish_each(
        self,
        calls: Sequence[tuple[bytes, Callable[[list[Published]], None] | None]],
    ) -> list[AppendResult | SigninWebhooksError]:
        """Several publish calls (each its input and its `check`) with one commit for them
        all: what many small concurrent publishers need to share the disk's flushes. Each call
        is all or none on its own, and gets its own report or its own error."""
        answers: list[AppendResult | SigninWebhooksError | None] = [None] * len(calls)
        valid: list[tuple[int, list[Published]]] = []
        for i, (data, check) in enumerate(calls):
            try:
                events = [event for chunk in read_events(data) for event in chunk]
                if check is not None:
                    check(events)
                valid.append((i, events))
            except SigninWebhooksError as e:
                answers[i] = e
        if valid:
            try:
                with _collector_paused(), self.store.errors():
                    results = self.store.log.append_each([events for _, events in valid])
                for (i, _), result in zip(valid, results, strict=True):
                    answers[i] = result
            except InvalidInput:  # one call clashes with the log: the others must not fail
                for i, events in valid:
                    try:
                        with self.store.errors():
                            answers[i] = self.store.log.append(events)
                    except SigninWebhooksError as e:
                        answers[i] = e
            self.wake()
        return answers  # type: ignore[return-value]  # each None was filled in above

    def wake(self) -> None:
        """Tell the router new facts are in the log (other processes' are noticed by polling)."""
        if self._pipeline is not None:
            self._pipeline.wake()  # a stopped router has nothing to wake: the log has it all

    def routed(self, timeout: float | None = None) -> None:
        """Wait until the router has handed every event now in the log to its batchers."""
        if self._pipeline is not None:
            try:
                self._pipeline.routed(timeout)
            except pykka.Timeout:
                raise SigninWebhooksError(f"the log was not routed within {timeout}s") from None

    def settled(self, timeout: float = 10.0) -> None:
        """Wait until the running system has nothing in hand: every event routed, no attempt
        queued or running, no timer due. At once when delivery is not running."""
        if self._pipeline is not None and not self._pipeline.settled(timeout):
            raise SigninWebhooksError(f"the system did not settle within {timeout}s")

    def replay(
        self,
        *,
        after_sequence: int = 0,
        types: Iterable[str] = (),
        organization: str | None = None,
        context: str | None = None,
        since: str | dt.datetime | None = None,
        until: str | dt.datetime | None = None,
        limit: int | None = None,
        internal: bool = False,
    ) -> Iterator[Record]:
        """The log's records, oldest first, streamed; Sign In events only unless `internal`.
        `since` and `until`: RFC 3339 times, datetimes, or times ago (`1h`, `2d`)."""
        now = self.clock()
        window = Filter(
            types=check_patterns(types, "types"),
            organization=organization,
            context=context,
            since=None if since is None else format_time(parse_time(since, what="since", now=now)),
            until=None if until is None else format_time(parse_time(until, what="until", now=now)),
        )
        with self.store.errors():
            yield from self.store.log.read(
                after_sequence, filter=window, internal=internal, limit=limit
            )

    def event_counts(self) -> list[dict[str, Any]]:
        """Events per type, organization and context, from the event-counts projection."""
        return EventCounts.rows(self.store.project(EventCounts()))

    # -- operations

    def status(self) -> list[dict[str, Any]]:
        """Per subscription: backlog, age of the oldest undelivered event, last success, and
        since when it has been failing."""
        return subscription_status(self.store, self.clock())

    def retention(self, *, dry_run: bool = False) -> RetentionReport:
        """Expire settled deliveries past their retention, and compact the log if set."""
        return run_retention(self.store, self.clock(), dry_run=dry_run)
