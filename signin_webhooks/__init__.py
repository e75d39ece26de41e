"""signin-webhooks: Sign In events in an append-only log, batched per subscription, delivered by
signed HTTP POSTs, every attempt recorded. A host program starts here:

    from signin_webhooks import WebhookSystem

and meets, through it and its parts, the types exported beside it.
"""

from signin_webhooks.actors.addresses import Resolver
from signin_webhooks.actors.clock import ManualClock, SystemClock
from signin_webhooks.actors.delivery_manager import DeliveryManager, Requested
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.actors.settings_manager import SettingsManager
from signin_webhooks.actors.subscription_manager import Saved, SubscriptionManager
from signin_webhooks.actors.system import WebhookSystem
from signin_webhooks.eventstore import (
    AppendResult,
    Filter,
    InternalEvent,
    InvalidInput,
    NotFound,
    Record,
    SigninWebhooksError,
    Store,
    StoreError,
)
from signin_webhooks.eventstore.deliveries import AttemptRecorded, Delivery
from signin_webhooks.eventstore.retention import RetentionReport
from signin_webhooks.eventstore.settings import Settings
from signin_webhooks.eventstore.subscription_fields import Scope, SubscriptionFields
from signin_webhooks.eventstore.subscriptions import Secret, Subscription

__all__ = [
    "AppendResult",
    "AttemptRecorded",
    "Delivery",
    "DeliveryManager",
    "Filter",
    "InternalEvent",
    "InvalidInput",
    "Ledger",
    "ManualClock",
    "NotFound",
    "Record",
    "Requested",
    "Resolver",
    "RetentionReport",
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
    "WebhookSystem",
]
