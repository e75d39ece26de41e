"""What one token may see and change: the scope rules, in one place, over the system's API.

A context token sees its context's subscriptions and their deliveries and events; an
organization token, its organization's and those of every context part of it: recorded so
(`tokens create --context ID --organization ID`), or else named so by the context's first
published event, which fixes a context's organization for good; admin, everything. Another tenant's
subscription or delivery is answered as if it did not exist, so ids do not leak.
"""

from __future__ import annotations

from collections.abc import Iterable

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.eventstore import NotFound, Published
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery, unknown_delivery
from signin_webhooks.eventstore.errors import Forbidden
from signin_webhooks.eventstore.subscriptions import Subscription, unknown_subscription
from signin_webhooks.eventstore.tokens import Token


class Tenant:
    def __init__(self, system: WebhookSystem, token: Token) -> None:
        self.system = system
        self.token = token

    @property
    def admin(self) -> bool:
        return self.token.scope == "admin"

    def described(self) -> str:
        t = self.token
        if t.scope == "admin":
            return "admin"
        if t.scope == "organization":
            return f"organization {t.organization_id!r}"
        return f"context {t.context_id!r}"

    # -- what the token may do

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden(f"this token's scope is {self.described()}; this needs an admin token")

    def require_write(self) -> None:
        if self.token.read_only:
            raise Forbidden(f"token {self.token.id} is read-only; use a token that may write")

    def in_scope(self, scope: str, scope_id: str) -> bool:
        t = self.token
        if t.scope == "admin":
            return True
        if t.scope == "context":
            return scope == "context" and scope_id == t.context_id
        if scope == "organization":
            return scope_id == t.organization_id
        return self.system.tokens.organization_of(scope_id) == t.organization_id

    def require_scope(self, scope: str, scope_id: str) -> None:
        if not self.in_scope(scope, scope_id):
            raise Forbidden(
                f"this token's scope is {self.described()}; it cannot manage subscriptions of"
                f" {scope} {scope_id!r}"
            )

    # -- subscriptions

    def subscriptions(self, *, include_deleted: bool = False) -> list[Subscription]:
        found = self.system.subscriptions.list(include_deleted=include_deleted)
        if self.admin:
            return found
        return [s for s in found if self.in_scope(s.fields.scope, s.fields.scope_id)]

    def subscription(self, subscription_id: str, *, deleted_ok: bool = False) -> Subscription:
        """One subscription of this tenant; another's is reported as not there."""
        try:
            found = self.system.subscriptions.get(subscription_id, deleted_ok=True)
        except NotFound:
            raise unknown_subscription(subscription_id) from None
        if not self.in_scope(found.fields.scope, found.fields.scope_id):
            raise unknown_subscription(subscription_id)
        if found.deleted and not deleted_ok:
            return self.system.subscriptions.get(subscription_id)  # raises, saying when it went
        return found

    # -- deliveries

    def visible_subscriptions(self) -> set[str] | None:
        """The subscriptions whose deliveries this token sees; None for all."""
        if self.admin:
            return None
        return {s.id for s in self.subscriptions(include_deleted=True)}

    def delivery(self, delivery_id: str) -> tuple[Delivery, list[AttemptRecorded]]:
        try:
            delivery, attempts = self.system.deliveries.get(delivery_id)
        except NotFound:
            raise unknown_delivery(delivery_id) from None
        visible = self.visible_subscriptions()
        if visible is not None and delivery.subscription_id not in visible:
            raise unknown_delivery(delivery_id)
        return delivery, attempts

    # -- events

    def event_scope(self) -> dict[str, str]:
        """The replay filter that keeps this token to its own events."""
        t = self.token
        if t.scope == "context":
            scope = {"context": t.context_id or ""}
            if t.organization_id is not None:
                scope["organization"] = t.organization_id
            return scope
        if t.scope == "organization":
            return {"organization": t.organization_id or ""}
        return {}

    def event_window(self, organization: str | None, context: str | None) -> dict[str, str]:
        """The replay filter for a request's own filter: another tenant's is refused."""
        scope = self.event_scope()
        for key, value in (("organization", organization), ("context", context)):
            if key in scope and value is not None and value != scope[key]:
                raise Forbidden(
                    f"this token's scope is {self.described()}; it reads only its events"
                )
        if self.token.scope == "organization" and context is not None:
            home = self.system.tokens.organization_of(context)
            if home is not None and home != self.token.organization_id:
                raise Forbidden(
                    f"this token's scope is {self.described()}; it reads only its events"
                )
        window = {"organization": organization, "context": context, **scope}
        return {k: v for k, v in window.items() if v is not None}

    def check_published(self, events: Iterable[Published]) -> None:
        """Refuse the whole call when any event is outside the token's scope."""
        t = self.token
        if t.scope == "admin":
            return
        homes: dict[str, str | None] = {}
        for event in events:
            if event.context_id not in homes:
                homes[event.context_id] = self.system.tokens.organization_of(event.context_id)
            home = homes[event.context_id]
            if home is None:  # a context new to the log: its first event fixes its organization
                home = homes[event.context_id] = event.organization_id
            if home is not None and event.organization_id != home:
                raise Forbidden(
                    f"{event.where}: context {event.context_id!r} is part of organization"
                    f" {home!r}, not {event.organization_id!r}; nothing was appended"
                )
            if t.scope == "context" and event.context_id != t.context_id:
                raise Forbidden(
                    f"{event.where}: context_id {event.context_id!r} is not this token's context"
                    f" {t.context_id!r}; nothing was appended"
                )
            if t.organization_id is not None and event.organization_id != t.organization_id:
                raise Forbidden(
                    f"{event.where}: organization_id {event.organization_id!r} is not this"
                    f" token's organization {t.organization_id!r}; nothing was appended"
                )
