"""Installation settings: read from the log, each change checked and then recorded."""

from __future__ import annotations

import os

from signin_webhooks.actors.addresses import Resolver, check_address, system_resolver
from signin_webhooks.actors.ledger import Ledger
from signin_webhooks.eventstore.settings import (
    InstallationSettings,
    SettingChanged,
    Settings,
    check_setting,
    parse_bool,
)

ENV_ALLOW_PRIVATE = "SIGNIN_WEBHOOKS_ALLOW_PRIVATE_NETWORKS"


def allow_private_from_env() -> bool | None:
    """The per-process override: `1/true/yes` allow, `0/false/no` or unset defer to settings."""
    value = os.environ.get(ENV_ALLOW_PRIVATE, "").strip()
    if not value:
        return None
    return parse_bool(value, what=ENV_ALLOW_PRIVATE) or None


class SettingsManager:
    """`system.settings`: show and set the installation settings."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        allow_private_override: bool | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        """`allow_private_override`: True allows non-public endpoints for this process whatever
        the installation setting says."""
        self.ledger = ledger
        self.allow_private_override = allow_private_override
        self.resolver = resolver

    def show(self) -> Settings:
        store = self.ledger.store
        return InstallationSettings.current(store.project(InstallationSettings()))

    def set(self, key: str, value: str) -> Settings:
        """Change one setting (`delivery_retention`, `72h`); returns every setting after it."""
        checked = check_setting(key, value)
        if key == "operations_url" and checked != "off":  # checked as a subscription's is
            check_address(
                checked, key, require_https=self.show().require_https,
                resolver=self.resolver, allow_private=self.allow_private_networks(),
            )  # fmt: skip
        self.ledger.record(SettingChanged(key=key, value=checked))
        return self.show()

    def allow_private_networks(self) -> bool:
        """Whether endpoints on non-public addresses are allowed in this process."""
        return bool(self.allow_private_override) or self.show().allow_private_networks
