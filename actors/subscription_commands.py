"""Managing subscriptions and settings: each change validated, then recorded as an event."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from signin_webhooks.actors.addresses import (
    BlockedAddress,
    ResolutionFailed,
    Resolver,
    check_endpoint,
)
from signin_webhooks.actors.signing import new_secret
from signin_webhooks.eventstore import InvalidInput, NotFound, Store
from signin_webhooks.eventstore.durations import parse_duration
from signin_webhooks.eventstore.events import InternalEvent
from signin_webhooks.eventstore.ids import short_id
from signin_webhooks.eventstore.settings import (
    InstallationSettings,
    SettingChanged,
    Settings,
    check_setting,
    parse_bool,
)
from signin_webhooks.eventstore.subscription_fields import SubscriptionFields, validate_fields
from signin_webhooks.eventstore.subscriptions import (
    SecretRotated,
    Subscription,
    SubscriptionCreated,
    SubscriptionDeleted,
    SubscriptionDisabled,
    SubscriptionEnabled,
    Subscriptions,
    SubscriptionUpdated,
    rotation_expiry,
)

ENV_ALLOW_PRIVATE = "SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS"
DEFAULT_GRACE = 24 * 3600.0


@dataclass(frozen=True)
class Saved:
    """A subscription as saved, its secret when one was made, and what to warn about."""

    subscription: Subscription
    secret: str | None = None
    warnings: list[str] = field(default_factory=list)


def allow_private_from_env() -> bool | None:
    """The per-process override: `1/true/yes` allow, `0/false/no` or unset defer to settings."""
    value = os.environ.get(ENV_ALLOW_PRIVATE, "").strip()
    if not value:
        return None
    return parse_bool(value, what=ENV_ALLOW_PRIVATE) or None


class SubscriptionCommands:
    """Part of WebhookSystem: the subscription and settings API."""

    store: Store
    resolver: Resolver
    allow_private_override: bool | None
    clock: Callable[[], dt.datetime]
    wake: Callable[[], None]

    # -- reading

    def subscriptions(self, *, include_deleted: bool = False) -> list[Subscription]:
        conn = self.store.project(Subscriptions())
        return Subscriptions.all(conn, deleted=include_deleted)

    def subscription(self, subscription_id: str, *, deleted_ok: bool = False) -> Subscription:
        """One subscription; a deleted one is refused unless `deleted_ok`."""
        found = Subscriptions.get(self.store.project(Subscriptions()), subscription_id)
        if found is None:
            raise NotFound(
                f"no subscription {subscription_id!r}; `subscriptions list` shows the ids"
            )
        if found.deleted and not deleted_ok:
            raise NotFound(
                f"subscription {subscription_id!r} was deleted at {found.deleted_at};"
                " `subscriptions list --all` shows it"
            )
        return found

    def settings(self) -> Settings:
        return InstallationSettings.current(self.store.project(InstallationSettings()))

    def allow_private_networks(self) -> bool:
        if self.allow_private_override:
            return True
        return self.settings().allow_private_networks

    # -- changing

    def create_subscription(
        self,
        *,
        name: str,
        url: str,
        context: str | None = None,
        organization: str | None = None,
        enabled: bool = True,
        **fields: Any,
    ) -> Saved:
        """Validate and save a new subscription; its secret is returned here, and only here."""
        values = {"name": name, "url": url, **fields, **_scope(context, organization)}
        checked = validate_fields(values)
        warnings = self._check_address(checked)
        subscription_id, secret = short_id("sub_"), new_secret()
        self._record(SubscriptionCreated(
            subscription_id=subscription_id, fields=checked, enabled=enabled, secret=secret
        ))  # fmt: skip
        return Saved(self.subscription(subscription_id), secret, warnings)

    def update_subscription(
        self,
        subscription_id: str,
        *,
        context: str | None = None,
        organization: str | None = None,
        **fields: Any,
    ) -> Saved:
        """Change some fields; the rest keep their values."""
        current = self.subscription(subscription_id)
        values = {**fields, **_scope(context, organization, required=False)}
        checked = validate_fields(values, base=current.fields)
        warnings = self._check_address(checked) if checked.url != current.fields.url else []
        if checked != current.fields:
            self._record(SubscriptionUpdated(subscription_id=subscription_id, fields=checked))
        return Saved(self.subscription(subscription_id), None, warnings)

    def enable_subscription(self, subscription_id: str, *, from_now: bool = False) -> Subscription:
        """Resume where it stopped, or with `from_now`, skip what was published meanwhile."""
        self.subscription(subscription_id)
        self._record(SubscriptionEnabled(subscription_id=subscription_id, from_now=from_now))
        return self.subscription(subscription_id)

    def disable_subscription(self, subscription_id: str, *, reason: str = "") -> Subscription:
        self.subscription(subscription_id)
        self._record(SubscriptionDisabled(subscription_id=subscription_id, reason=reason))
        return self.subscription(subscription_id)

    def delete_subscription(self, subscription_id: str) -> Subscription:
        self.subscription(subscription_id)
        self._record(SubscriptionDeleted(subscription_id=subscription_id))
        return self.subscription(subscription_id, deleted_ok=True)

    def rotate_secret(self, subscription_id: str, *, grace: str | float = DEFAULT_GRACE) -> Saved:
        """A new secret; the old one stays valid, and signed with, for `grace`."""
        self.subscription(subscription_id)
        if isinstance(grace, str):
            grace = parse_duration(grace, what="--grace", maximum=30 * 24 * 3600)
        secret = new_secret()
        self._record(SecretRotated(
            subscription_id=subscription_id,
            secret=secret,
            previous_expires_at=rotation_expiry(self.clock(), grace),
        ))  # fmt: skip
        return Saved(self.subscription(subscription_id), secret)

    def set_setting(self, key: str, value: str) -> Settings:
        self._record(SettingChanged(key=key, value=check_setting(key, value)))
        return self.settings()

    def _record(self, event: InternalEvent) -> None:
        with self.store.errors():
            self.store.log.append_internal([event])
        self.wake()

    def _check_address(self, fields: SubscriptionFields) -> list[str]:
        try:
            check_endpoint(
                fields.url, resolver=self.resolver, allow_private=self.allow_private_networks()
            )
        except BlockedAddress as e:
            raise InvalidInput(str(e)) from None
        except ResolutionFailed as e:
            return [f"{e}; saved anyway: delivery resolves it again at every attempt"]
        return []


def _scope(
    context: str | None, organization: str | None, *, required: bool = True
) -> Mapping[str, str]:
    if context is not None and organization is not None:
        raise InvalidInput("give --context or --organization, not both")
    if context is not None:
        return {"scope": "context", "scope_id": context}
    if organization is not None:
        return {"scope": "organization", "scope_id": organization}
    if required:
        raise InvalidInput("give exactly one of --context ID and --organization ID")
    return {}
