"""Shared fixtures: a clock the test advances by hand, the installed command, a database (a file,
or a PostgreSQL schema), a running system on it, and real HTTP endpoints."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.clock import ManualClock
from signin_webhooks.eventstore.secrets import ENV_KEY_FILE
from tests.api_server import ApiServer
from tests.backends import fresh_schema
from tests.endpoint import Endpoint
from tests.helpers import ROOT, installed

# What the tools themselves keep in the folder they run in.
_CACHES = {".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "__pycache__"}


@pytest.fixture(scope="session", autouse=True)
def top_level_untouched() -> Iterator[None]:
    """Tests write in their tmp_path: the run fails if the repository's top level (or the
    folder the tests run in) gained a file."""
    before = {folder: set(os.listdir(folder)) for folder in {ROOT, Path.cwd()}}
    yield
    gained = sorted(
        str(folder / name)
        for folder, names in before.items()
        for name in set(os.listdir(folder)) - names - _CACHES
    )
    assert not gained, f"the tests wrote {', '.join(gained)}: write in tmp_path instead"


@pytest.fixture
def clock() -> ManualClock:
    """Time injected into the system under test: it moves only when the test says so."""
    return ManualClock(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def command() -> str:
    """The `signin-webhooks` executable installed beside the running interpreter."""
    return installed()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """The database file, not created yet."""
    return tmp_path / "hooks.db"


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite unless the module runs on each backend: every test of it with
    `pytestmark = pytest.mark.parametrize("backend", BACKENDS, indirect=True)`, or those that
    open a store with a module fixture `backend` of `params=BACKENDS`."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str | Path]:
    """Where the test's store lives: a file not created yet, or a fresh PostgreSQL schema (its
    installation key in the test's folder, not in the working folder)."""
    if backend == "sqlite":
        yield tmp_path / "hooks.db"
        return
    monkeypatch.setenv(ENV_KEY_FILE, str(tmp_path / "installation.key"))
    with fresh_schema() as url:
        yield url


@pytest.fixture
def system(database: str | Path, clock: ManualClock) -> Iterator[WebhookSystem]:
    """A running system on the test's clock, private networks allowed (the endpoints are local)."""
    with WebhookSystem(database, clock=clock, allow_private_networks=True) as running:
        yield running


@pytest.fixture
def endpoints() -> Iterator[Callable[..., Endpoint]]:
    """Start as many endpoints as a test needs: `endpoints()`, `endpoints(Reply(500))`."""
    started: list[Endpoint] = []

    def start(default: Any = None) -> Endpoint:
        server = Endpoint(default).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def api(system: WebhookSystem) -> Iterator[ApiServer]:
    """The HTTP API over the test's running system, served by uvicorn on 127.0.0.1."""
    server = ApiServer(system).start()
    yield server
    server.stop()


@pytest.fixture
def admin_token(system: WebhookSystem) -> str:
    return system.tokens.create(scope="admin", name="test admin")[1]
