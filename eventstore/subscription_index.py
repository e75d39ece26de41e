"""Subscriptions by scope: which subscriptions take an event, in one lookup of its context's and
one of its organization's, however many subscriptions there are."""

from __future__ import annotations

from signin_webhooks.eventstore.event_types import selected
from signin_webhooks.eventstore.subscriptions import Subscription

SCOPES = ("context", "organization")


class SubscriptionIndex:
    """`by_scope[scope][scope_id]`: the subscriptions of that context or organization, each
    with the event types it takes. Routing reads `by_scope` directly: it is the hot path."""

    def __init__(self) -> None:
        self.by_scope: dict[str, dict[str, dict[str, frozenset[str]]]] = {s: {} for s in SCOPES}
        self._scopes: dict[str, tuple[str, str]] = {}

    def __contains__(self, subscription_id: str) -> bool:
        return subscription_id in self._scopes

    def __len__(self) -> int:
        return len(self._scopes)

    def add(self, sub: Subscription) -> None:
        """Index `sub` as it is now, in place of what was indexed for it before."""
        self.remove(sub.id)
        scope, scope_id = sub.fields.scope, sub.fields.scope_id
        self.by_scope[scope].setdefault(scope_id, {})[sub.id] = frozenset(
            selected(sub.fields.events)
        )
        self._scopes[sub.id] = (scope, scope_id)

    def remove(self, subscription_id: str) -> None:
        found = self._scopes.pop(subscription_id, None)
        if found is None:
            return
        scope, scope_id = found
        takers = self.by_scope[scope][scope_id]
        del takers[subscription_id]
        if not takers:
            del self.by_scope[scope][scope_id]

    def taking(self, kind: str, organization_id: str | None, context_id: str | None) -> list[str]:
        """The subscriptions that take an event of this type, organization and context."""
        found = []
        for scope, scope_id in (("context", context_id), ("organization", organization_id)):
            takers = self.by_scope[scope].get(scope_id or "", {})
            found += [sub_id for sub_id, kinds in takers.items() if kind in kinds]
        return found
