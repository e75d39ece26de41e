"""`/catalogue`, `/status` and `/settings`."""

from __future__ import annotations

from litestar import get, patch
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import JSONBody

from signin_webhooks.cli.api.problems import problems
from signin_webhooks.cli.api.schemas import CatalogueEntry, Status, SubscriptionHealth
from signin_webhooks.cli.api.tenant import Tenant
from signin_webhooks.eventstore import CATALOGUE, InvalidInput


@get("/catalogue", summary="The event catalogue", responses=problems(401))
async def catalogue(tenant: NamedDependency[Tenant]) -> list[CatalogueEntry]:
    return [
        CatalogueEntry(name, list(required), text) for name, (text, required) in CATALOGUE.items()
    ]


@get(
    "/status",
    summary="Delivery status",
    description="Whether a process delivers from this database, and per subscription of the"
    " token's scope its backlog and health, as `signin-webhooks status` shows them.",
    responses=problems(401),
)
async def status(state: State, tenant: NamedDependency[Tenant]) -> Status:
    def read() -> Status:
        visible = tenant.visible_subscriptions()
        rows = [
            SubscriptionHealth(**row)
            for row in tenant.system.status()
            if visible is None or row["subscription_id"] in visible
        ]
        holder = tenant.system.running()
        shown = holder if tenant.admin else None  # which host and process: for admins only
        return Status(running=holder is not None, holder=shown, subscriptions=rows)

    return await state.backend.call(read)


@get("/settings", summary="Installation settings (admin)", responses=problems(401, 403))
async def show_settings(state: State, tenant: NamedDependency[Tenant]) -> dict[str, str]:
    tenant.require_admin()
    return (await state.backend.call(tenant.system.settings.show)).shown()


@patch(
    "/settings",
    summary="Change installation settings (admin)",
    description="An object of keys and values as `settings set KEY VALUE` takes them.",
    responses=problems(400, 401, 403, 413),
)
async def change_settings(
    state: State, tenant: NamedDependency[Tenant], data: JSONBody[dict[str, str]]
) -> dict[str, str]:
    tenant.require_admin()
    tenant.require_write()
    if not data:
        raise InvalidInput('give at least one setting to change, as {"key": "value"}')

    def act() -> dict[str, str]:
        for key, value in data.items():
            tenant.system.settings.set(key, value)
        return tenant.system.settings.show().shown()

    return await state.backend.call(act)


ROUTES = [catalogue, status, show_settings, change_settings]
