"""The notifier: tells a subscription's operations endpoint of each change of its health, signed
with the subscription's secrets as its deliveries are, retried a few times, each attempt
recorded in the log."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from typing import Any

import pykka

from signin_webhooks.actors import activity
from signin_webhooks.actors.delivery import USER_AGENT
from signin_webhooks.actors.runtime import Listener, Runtime
from signin_webhooks.actors.signing import sign
from signin_webhooks.actors.transport import Transport
from signin_webhooks.eventstore import InternalEvent, SigninWebhooksError, format_time
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.notifications import NotificationAttempted, kind_of, payload
from signin_webhooks.eventstore.subscriptions import Subscription

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
    kind: str
    subscription: Subscription
    url: str
    body: bytes
    attempt: int = 1


@dataclass(frozen=True)
class Finished:
    """Asked, answered once every message sent to the notifier before it is handled."""


class Notifier(Listener):
    def __init__(self, runtime: Runtime, transport: Transport) -> None:
        super().__init__()
        self.runtime = runtime
        self.transport = transport

    def handle(self, message: Any) -> None:
        match message:
            case Notify(subscription, fact):
                self._notify(subscription, fact)
            case Notification():
                self._send(message)
            case Finished():
                return None

    def _notify(self, subscription: Subscription, fact: InternalEvent) -> None:
        kind = kind_of(fact)
        url = subscription.fields.operations_url or self.runtime.settings.operations_url
        if kind is None or url is None:
            return
        now = format_time(self.runtime.clock())
        body = payload(kind, subscription, fact, now)
        self._send(Notification(short_id("ntf_"), kind, subscription, url, body))

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
        outcome = "sent" if result.succeeded else "failed" if retry is None else "retrying"
        fact = NotificationAttempted(
            notification_id=note.id,
            subscription_id=note.subscription.id,
            kind=note.kind,
            attempt=note.attempt,
            status=result.status,
            error_kind=result.error_kind,
            outcome=outcome,
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
            ref, again = self.actor_ref, dataclasses.replace(note, attempt=note.attempt + 1)

            def resend() -> None:
                with contextlib.suppress(pykka.ActorDeadError):
                    ref.tell(again)

            self.runtime.scheduler.after(retry, resend)
