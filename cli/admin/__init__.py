"""The admin pages `serve` shows beside the API: a Context's or an Organization's Webhooks,
server-rendered, over the same Python API and the same tokens. They work without JavaScript;
htmx, served from the package (static/, nothing fetched at run time), refreshes the recent
deliveries in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from signin_webhooks.cli.admin import (
    actions,
    catalogue_page,
    delivery_actions,
    delivery_page,
    pages,
    recent_deliveries,
    subscription_forms,
    subscription_pages,
)
from signin_webhooks.cli.admin.sessions import Sessions

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
ROUTES = [
    *pages.ROUTES,
    *subscription_forms.ROUTES,
    *subscription_pages.ROUTES,
    *actions.ROUTES,
    *catalogue_page.ROUTES,
    *recent_deliveries.ROUTES,
    *delivery_page.ROUTES,
    *delivery_actions.ROUTES,
    create_static_files_router("/static", directories=[STATIC], name="admin-static"),
]


def admin_options() -> dict[str, Any]:
    """What `create_app` needs to serve the pages: their routes, templates and sessions."""
    return {
        "routes": ROUTES,
        "template_config": TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        "state": {"sessions": Sessions()},
    }


__all__ = ["ROUTES", "admin_options"]
