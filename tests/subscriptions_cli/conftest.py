"""Each test's own database file, named in the environment as a person's shell would."""

from __future__ import annotations

from pathlib import Path

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.settings_manager import ENV_ALLOW_PRIVATE
from signin_webhooks.actors.system import ENV_DB


@pytest.fixture(autouse=True)
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hooks.db"
    WebhookSystem(path, deliver=False).store.close()  # empty, as after a first write
    monkeypatch.setenv(ENV_DB, str(path))
    monkeypatch.delenv(ENV_ALLOW_PRIVATE, raising=False)
    return path
