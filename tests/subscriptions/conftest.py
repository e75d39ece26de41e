"""A fake resolver, and the system opened on the test's database with it: every test here runs
on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from tests.backends import BACKENDS
from tests.helpers import FakeDns
from tests.subscriptions import HOST, PUBLIC, Opener


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(database: str | Path) -> str | Path:
    """The test's database: a file not created yet, or a fresh PostgreSQL schema."""
    return database


@pytest.fixture(autouse=True)
def no_env_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)


@pytest.fixture
def dns() -> FakeDns:
    """A resolver answering from a table the test can fill in; other names do not resolve."""
    return FakeDns({HOST: [PUBLIC], "other.example.com": [PUBLIC]})


@pytest.fixture
def open_system(db: str | Path, dns: FakeDns, clock: ManualClock) -> Iterator[Opener]:
    """Start a system on the test's database; each call is a restart."""
    started: list[WebhookSystem] = []

    def start(**kw: Any) -> WebhookSystem:
        for system in started:
            system.stop()
        system = WebhookSystem(db, deliver=False, clock=clock, resolver=dns, **kw).start()
        started.append(system)
        return system

    yield start
    for system in started:
        system.stop()


@pytest.fixture
def system(open_system: Opener) -> WebhookSystem:
    return open_system()
