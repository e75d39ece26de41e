"""Subscriptions by scope and event type: which subscriptions take an event, in two lookups
(its context's and its organization's), however many subscriptions there are."""

from __future__ import annotations

from collections import defaultdict

from signin_webhooks.eventstore.event_types import selected
from signin_webhooks.eventstore.subscriptions import Subscription

Key = tuple[str, str | None, str]  # scope ("context" or "organization"), scope id, event type


class SubscriptionIndex:
    """`by_key[(scope, scope_id, event_type)]`: the ids of the subscriptions taking such an
    event. Routing reads `by_key` directly: it is the hot path."""

    def __init__(self) -> None:
        self.by_key: dict[Key, list[str]] = defaultdict(list)
        self._keys: dict[str, list[Key]] = {}

    def __contains__(self, subscription_id: str) -> bool:
        return subscription_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, sub: Subscription) -> None:
        """Index `sub` as it is now, in place of what was indexed for it before."""
        self.remove(sub.id)
        scope, scope_id = sub.fields.scope, sub.fields.scope_id
        keys: list[Key] = [(scope, scope_id, kind) for kind in selected(sub.fields.events)]
        for key in keys:
            self.by_key[key].append(sub.id)
        self._keys[sub.id] = keys

    def remove(self, subscription_id: str) -> None:
        for key in self._keys.pop(subscription_id, ()):
            self.by_key[key].remove(subscription_id)
            if not self.by_key[key]:
                del self.by_key[key]

    def taking(self, kind: str, organization_id: str | None, context_id: str | None) -> list[str]:
        """The subscriptions that take an event of this type, organization and context."""
        empty: list[str] = []
        return [
            *self.by_key.get(("context", context_id or "", kind), empty),
            *self.by_key.get(("organization", organization_id or "", kind), empty),
        ]
