"""Each test's own database (a file, or a PostgreSQL schema: every test here runs on each
backend), named in the environment as a person's shell would."""

from __future__ import annotations

from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.system import ENV_DB
from tests.backends import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def db(database: str | Path, monkeypatch: pytest.MonkeyPatch) -> str | Path:
    WebhookSystem(database, deliver=False).store.close()  # empty, as after a first write
    monkeypatch.setenv(ENV_DB, str(database))
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    return database
