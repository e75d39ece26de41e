"""What happens: the system that routes, batches and delivers, embeddable in a host process."""

from signin_webhooks.actors.clock import ManualClock, SystemClock
from signin_webhooks.actors.runlock import AlreadyRunning
from signin_webhooks.actors.system import WebhookSystem, database_path

__all__ = ["AlreadyRunning", "ManualClock", "SystemClock", "WebhookSystem", "database_path"]
