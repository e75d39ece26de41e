"""Shared fixtures: a clock the test advances by hand, and the installed command."""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest

from actors.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    """Time injected into the system under test: it moves only when the test says so."""
    return ManualClock(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def command() -> str:
    """The `signin-webhooks` executable installed beside the running interpreter."""
    beside = Path(sys.executable).parent / "signin-webhooks"
    found = str(beside) if beside.exists() else shutil.which("signin-webhooks")
    if found is None:
        pytest.fail("the signin-webhooks command is not installed")
    return found
