"""The notifier: tells a subscription's operations endpoint of each change of its health, signed
with the subscription's secrets as its deliveries are, retried a few times, each attempt
recorded in the log; a retry still to come at a stop is sent after the next start."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from dataclasses import dataclass

import pykka

from signin_webhooks.actors import activity
from signin_webhooks.actors.delivery import USER_AGENT
from signin_webhooks.actors.runtime import Listener, Runtime, start_actor
from signin_webhooks.actors.signing import sign
from signin_webhooks.actors.transport import Transport
from signin_webhooks.eventstore import InternalEvent, SigninWebhooksError, format_time, parse_time
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.notifications import (
    NotificationAttempted,
    PendingNotifications,
    kind_of,
    payload,
)
from signin_webhooks.eventstore.statuses import NotificationKind, NotificationOutcome
from signin_webhooks.eventstore.subscriptions import Subscription, Subscriptions

RETRIES = (30.0, 120.0, 600.0)  # seconds after each failed attempt; then it has failed
TIMEOUT = 10.0


@dataclass(frozen=True)
class Notify:
    """Tell of `fact`, a change of health of `subscription` (its state after the change)."""

    subscription: Subscription
    fact: InternalEvent


@dataclass(frozen=True)
class Notification:
    id: str
    kind: NotificationKind
    subscription: Subscription
    url: str
    body: bytes
    attempt: int = 1


@dataclass(frozen=True)
class Finished:
    """Asked, answered once every message sent to the notifier before it is handled."""


class Notifier(Listener):
    """Turns each change of health into a notification and hands it to the sender of its
    operations endpoint: one sender per endpoint, so an endpoint that hangs holds up only its
    own notifications, and each endpoint hears of a subscription's changes in order."""

    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        super().__init__()
        self.runtime = runtime
        self.transport = transport
        self.senders: dict[str, pykka.ActorRef[Sender]] = {}

    def begin(self) -> None:
        """Resume the retries a stop left waiting, each at its recorded time."""
        store = self.runtime.recorder.store
        with store.errors():
            pending = PendingNotifications.all(store.project(PendingNotifications()))
            subscriptions = store.project(Subscriptions())
            for last in pending:
                sub = Subscriptions.get(subscriptions, last.subscription_id)
                if sub is None or sub.deleted or last.url is None or last.body is None:
                    continue
                note = Notification(
                    last.notification_id, last.kind, sub, last.url, last.body.encode(),
                    attempt=last.attempt + 1,
                )  # fmt: skip
                due = last.next_attempt_at
                wait = (
                    0.0 if due is None else (parse_time(due) - self.runtime.clock()).total_seconds()
                )
                self._sender(note.url).tell(Later(note, max(0.0, wait)))

    def handle(self, message: object) -> None:
        match message:
            case Notify(subscription, fact):
                self._notify(subscription, fact)
            case Finished():
                for sender in list(self.senders.values()):
                    with contextlib.suppress(pykka.ActorDeadError):
                        sender.ask(Finished())
                return None

    def on_stop(self) -> None:
        stopping = [sender.stop(block=False) for sender in self.senders.values()]
        for done in stopping:
            with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                done.get(timeout=TIMEOUT + 5)  # an attempt in flight ends within its timeout

    def _notify(self, subscription: Subscription, fact: InternalEvent) -> None:
        kind = kind_of(fact)
        url = subscription.fields.operations_url or self.runtime.settings.operations_url
        if kind is None or url is None:
            return
        now = format_time(self.runtime.clock())
        body = payload(kind, subscription, fact, now)
        self._sender(url).tell(Notification(short_id("ntf_"), kind, subscription, url, body))

    def _sender(self, url: str) -> pykka.ActorRef[Sender]:
        if url not in self.senders:
            self.senders[url] = start_actor(Sender, self.runtime, self.transport)
        return self.senders[url]


@dataclass(frozen=True)
class Later:
    """Send `note` after `wait` seconds."""

    note: Notification
    wait: float


class Sender(Listener):
    """Sends the notifications of one operations endpoint, one at a time, each attempt recorded
    in the log with what a start needs to send a retry still to come."""

    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        super().__init__()
        self.runtime = runtime
        self.transport = transport

    def handle(self, message: object) -> None:
        match message:
            case Notification():
                self._send(message)
            case Later(note, wait):
                self._after(wait, note)
            case Finished():
                return None

    def _after(self, wait: float, note: Notification) -> None:
        ref = self.actor_ref

        def resend() -> None:
            with contextlib.suppress(pykka.ActorDeadError):
                ref.tell(note)

        self.runtime.scheduler.after(wait, resend)

    def _send(self, note: Notification) -> None:
        now = self.runtime.clock()
        timestamp = int(now.timestamp())
        store = self.runtime.recorder.store
        try:
            with store.errors():
                secrets = note.subscription.opened(store.keyring, now).valid_secrets(now)
        except SigninWebhooksError as e:  # the key is gone: nothing to sign with, nothing sent
            sub_id = note.subscription.id
            activity.report("notification", notification=note.id, subscription=sub_id,
                            kind=note.kind, error=str(e))  # fmt: skip
            return
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": note.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secrets, note.id, timestamp, note.body),
        }
        result = self.transport.post(note.url, note.body, headers, TIMEOUT)
        retry = (
            None if result.succeeded or note.attempt > len(RETRIES) else RETRIES[note.attempt - 1]
        )
        outcome: NotificationOutcome = (
            "sent" if result.succeeded else "failed" if retry is None else "retrying"
        )
        after = self.runtime.clock()
        fact = NotificationAttempted(
            notification_id=note.id,
            subscription_id=note.subscription.id,
            kind=note.kind,
            attempt=note.attempt,
            status=result.status,
            error_kind=result.error_kind,
            outcome=outcome,
            url=note.url,
            body=note.body.decode(),
            next_attempt_at=None
            if retry is None
            else format_time(after + dt.timedelta(seconds=retry)),
        )
        with contextlib.suppress(SigninWebhooksError):  # a store failure costs the record only
            self.runtime.recorder.record(fact)
        activity.report(
            "notification",
            notification=note.id,
            subscription=note.subscription.id,
            kind=note.kind,
            attempt=note.attempt,
            result="ok" if result.succeeded else result.error_kind,
            status=result.status,
            outcome=outcome,
        )
        if retry is not None:
            self._after(retry, dataclasses.replace(note, attempt=note.attempt + 1))
