"""What happens: the system that routes, batches and delivers, embeddable in a host process."""

from signin_webhooks.actors.clock import ManualClock, SystemClock
from signin_webhooks.actors.system import WebhookSystem, database_path

__all__ = ["ManualClock", "SystemClock", "WebhookSystem", "database_path"]
