"""The admin pages `serve` shows beside the API: a Context's or an Organization's Webhooks,
server-rendered, over the same Python API and the same tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from signin_webhooks.cli.admin import (
    actions,
    catalogue_page,
    pages,
    recent_deliveries,
    subscription_forms,
    subscription_pages,
)
from signin_webhooks.cli.admin.sessions import Sessions

TEMPLATES = Path(__file__).parent / "templates"
ROUTES = [
    *pages.ROUTES,
    *subscription_forms.ROUTES,
    *subscription_pages.ROUTES,
    *actions.ROUTES,
    *catalogue_page.ROUTES,
    *recent_deliveries.ROUTES,
]


def admin_options() -> dict[str, Any]:
    """What `create_app` needs to serve the pages: their routes, templates and sessions."""
    return {
        "routes": ROUTES,
        "template_config": TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        "state": {"sessions": Sessions()},
    }


__all__ = ["ROUTES", "admin_options"]
