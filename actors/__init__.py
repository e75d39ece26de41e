"""What happens: the system that routes, batches and delivers, embeddable in a host process."""

from actors.system import WebhookSystem, database_path

__all__ = ["WebhookSystem", "database_path"]
