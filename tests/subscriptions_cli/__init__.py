"""`subscriptions` and `settings` as a person drives them: each invocation is a fresh process's
worth of state on the same database file, so every command is also a command after a restart."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result

from tests.helpers import invoke, one_error_line

PUBLIC_URL = "https://93.184.216.34/hook"


LOCAL_URL = "http://127.0.0.1:8080/hook"


TABLE_HEADER = ["ID", "NAME", "SCOPE", "URL", "EVENTS", "STATE"]


BASE = ["--name", "CRM", "--url", PUBLIC_URL, "--context", "ctx_lobby"]


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    return invoke(*args, env=env, input=input)


def ok(*args: str, env: dict[str, str] | None = None, input: str | None = None) -> Result:
    result = cli(*args, env=env, input=input)
    assert result.exit_code == 0, result.stderr
    return result


def ok_json(*args: str) -> Any:
    return json.loads(ok(*args, "--json").stdout)


def refused(*args: str, code: int = 2, env: dict[str, str] | None = None) -> str:
    """The one error line of a refused command, without its prefix."""
    result = cli(*args, env=env)
    assert result.exit_code == code, result.stdout
    return one_error_line(result.stderr, result.stdout)


def create(*extra: str) -> dict[str, Any]:
    return ok_json("subscriptions", "create", *BASE, *extra)


def audit() -> str:
    return ok("replay", "--all").stdout


def listed() -> str:
    return ok("subscriptions", "list", "--all", "--json").stdout


def without(*options: str) -> list[str]:
    args, skip = [], False
    for arg in BASE:
        if skip:
            skip = False
            continue
        if arg in options:
            skip = True
            continue
        args.append(arg)
    return args
