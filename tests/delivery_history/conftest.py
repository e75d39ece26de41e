"""The database on the test's clock, the operator's commands against it and the running system."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import ManualClock, WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.system import ENV_DB
from signin_webhooks.cli import app as cli_app
from tests.backends import BACKENDS
from tests.delivery_history import Operator, Systems


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Every test here that opens a store runs on each backend."""
    return request.param


@pytest.fixture
def db(database: Path, monkeypatch: pytest.MonkeyPatch, clock: ManualClock) -> Path:
    """The database (a file, or a PostgreSQL schema); the command line opens it on the test's
    clock."""

    class OnTestClock(WebhookSystem):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, clock=clock, **kwargs)

    monkeypatch.setattr(cli_app, "WebhookSystem", OnTestClock)
    monkeypatch.delenv(ENV_DB, raising=False)
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    path = database
    WebhookSystem(path, deliver=False).store.close()  # empty, as after a first write
    return path


@pytest.fixture
def operator(db: Path) -> Operator:
    return Operator(db)


@pytest.fixture
def systems(db: Path, clock: ManualClock, endpoints: Any) -> Iterator[Systems]:
    """The running system; stopped before the endpoints (set up first) are."""
    found = Systems(db, clock)
    yield found
    found.stop()


@pytest.fixture
def system(systems: Systems) -> WebhookSystem:
    return systems.start()
