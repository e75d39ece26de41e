"""signin-webhooks: Sign In events in an append-only log, batched per subscription, delivered by
signed HTTP POSTs, every attempt recorded. A host program starts here:

    from signin_webhooks import WebhookSystem

and meets, through it and its parts, the types exported beside it.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from signin_webhooks.actors.addresses import Resolver
    from signin_webhooks.actors.clock import ManualClock, SystemClock
    from signin_webhooks.actors.delivery_manager import DeliveryManager, Requested
    from signin_webhooks.actors.idempotency import IdempotentRequests
    from signin_webhooks.actors.ledger import Ledger
    from signin_webhooks.actors.runlock import AlreadyRunning
    from signin_webhooks.actors.settings_manager import SettingsManager
    from signin_webhooks.actors.subscription_manager import Saved, SubscriptionManager
    from signin_webhooks.actors.system import WebhookSystem
    from signin_webhooks.actors.tokens import AccessTokens
    from signin_webhooks.eventstore import (
        AppendResult,
        Filter,
        InternalEvent,
        InvalidInput,
        NotFound,
        Published,
        Record,
        SigninWebhooksError,
        Store,
        StoreError,
    )
    from signin_webhooks.eventstore.deliveries import (
        AttemptRecorded,
        BatchCancelled,
        Delivery,
        RetryRequested,
    )
    from signin_webhooks.eventstore.delivery_changes import DeliveryChange
    from signin_webhooks.eventstore.idempotency import Answer
    from signin_webhooks.eventstore.retention import RetentionReport
    from signin_webhooks.eventstore.secrets import Keyring
    from signin_webhooks.eventstore.settings import Settings
    from signin_webhooks.eventstore.statuses import DeliveryStatus, HealthState, Trigger
    from signin_webhooks.eventstore.subscription_fields import Scope, SubscriptionFields
    from signin_webhooks.eventstore.subscriptions import Secret, Subscription
    from signin_webhooks.eventstore.tokens import Token, TokenScope

# Each name is imported on first use: a process that needs only the event store (the one
# validating a large publish) starts without the HTTP and actor machinery.
_EXPORTS = {
    "AccessTokens": "signin_webhooks.actors.tokens",
    "AlreadyRunning": "signin_webhooks.actors.runlock",
    "Answer": "signin_webhooks.eventstore.idempotency",
    "AppendResult": "signin_webhooks.eventstore",
    "AttemptRecorded": "signin_webhooks.eventstore.deliveries",
    "BatchCancelled": "signin_webhooks.eventstore.deliveries",
    "Delivery": "signin_webhooks.eventstore.deliveries",
    "DeliveryChange": "signin_webhooks.eventstore.delivery_changes",
    "DeliveryManager": "signin_webhooks.actors.delivery_manager",
    "DeliveryStatus": "signin_webhooks.eventstore.statuses",
    "Filter": "signin_webhooks.eventstore",
    "HealthState": "signin_webhooks.eventstore.statuses",
    "IdempotentRequests": "signin_webhooks.actors.idempotency",
    "InternalEvent": "signin_webhooks.eventstore",
    "InvalidInput": "signin_webhooks.eventstore",
    "Keyring": "signin_webhooks.eventstore.secrets",
    "Ledger": "signin_webhooks.actors.ledger",
    "ManualClock": "signin_webhooks.actors.clock",
    "NotFound": "signin_webhooks.eventstore",
    "Published": "signin_webhooks.eventstore",
    "Record": "signin_webhooks.eventstore",
    "Requested": "signin_webhooks.actors.delivery_manager",
    "Resolver": "signin_webhooks.actors.addresses",
    "RetryRequested": "signin_webhooks.eventstore.deliveries",
    "RetentionReport": "signin_webhooks.eventstore.retention",
    "Saved": "signin_webhooks.actors.subscription_manager",
    "Scope": "signin_webhooks.eventstore.subscription_fields",
    "Secret": "signin_webhooks.eventstore.subscriptions",
    "Settings": "signin_webhooks.eventstore.settings",
    "SettingsManager": "signin_webhooks.actors.settings_manager",
    "SigninWebhooksError": "signin_webhooks.eventstore",
    "Store": "signin_webhooks.eventstore",
    "StoreError": "signin_webhooks.eventstore",
    "Subscription": "signin_webhooks.eventstore.subscriptions",
    "SubscriptionFields": "signin_webhooks.eventstore.subscription_fields",
    "SubscriptionManager": "signin_webhooks.actors.subscription_manager",
    "SystemClock": "signin_webhooks.actors.clock",
    "Token": "signin_webhooks.eventstore.tokens",
    "TokenScope": "signin_webhooks.eventstore.tokens",
    "Trigger": "signin_webhooks.eventstore.statuses",
    "WebhookSystem": "signin_webhooks.actors.system",
}
__all__ = [
    "AccessTokens",
    "AlreadyRunning",
    "Answer",
    "AppendResult",
    "AttemptRecorded",
    "BatchCancelled",
    "Delivery",
    "DeliveryChange",
    "DeliveryManager",
    "DeliveryStatus",
    "Filter",
    "HealthState",
    "IdempotentRequests",
    "InternalEvent",
    "InvalidInput",
    "Keyring",
    "Ledger",
    "ManualClock",
    "NotFound",
    "Published",
    "Record",
    "Requested",
    "Resolver",
    "RetentionReport",
    "RetryRequested",
    "Saved",
    "Scope",
    "Secret",
    "Settings",
    "SettingsManager",
    "SigninWebhooksError",
    "Store",
    "StoreError",
    "Subscription",
    "SubscriptionFields",
    "SubscriptionManager",
    "SystemClock",
    "Token",
    "TokenScope",
    "Trigger",
    "WebhookSystem",
]


def __getattr__(name: str) -> _typing.Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'signin_webhooks' has no attribute {name!r}")
    value = getattr(_importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
