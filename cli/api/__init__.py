"""The HTTP face of the system: the API `serve` runs, over the same Python API as the CLI."""

from signin_webhooks.cli.api.app import create_app
from signin_webhooks.cli.api.problems import PREFIX

__all__ = ["PREFIX", "create_app"]
