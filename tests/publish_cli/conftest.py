"""Each test's own database: a file, or a PostgreSQL schema. Every test here that opens the log
runs on each backend; those about files (their modes, folders, what is not a database) take
`tmp_path` and stay on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backends import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db(database: str | Path) -> str | Path:
    return database
