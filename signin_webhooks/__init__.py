"""signin-webhooks: Sign In events in an append-only log, batched per subscription, delivered by
signed HTTP POSTs, every attempt recorded. A host program starts here:

    from signin_webhooks import WebhookSystem
"""

from signin_webhooks.actors import WebhookSystem

__all__ = ["WebhookSystem"]
