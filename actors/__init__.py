"""What happens: the system that routes, batches and delivers, embeddable in a host process."""

from actors.clock import ManualClock, SystemClock
from actors.system import WebhookSystem, database_path

__all__ = ["ManualClock", "SystemClock", "WebhookSystem", "database_path"]
