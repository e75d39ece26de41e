"""Helpers shared by the test modules: waiting on the actors, the events tests publish, what an
endpoint received, the system's own facts in the log, a fake resolver, and the command line run
in this process or in a process of its own."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner, Result

from signin_webhooks.actors import WebhookSystem
from signin_webhooks.actors.subscription_manager import Saved
from signin_webhooks.cli import main
from signin_webhooks.eventstore import InternalEvent
from tests.endpoint import Endpoint, Received

T = TypeVar("T")
F = TypeVar("F", bound=InternalEvent)
ROOT = Path(__file__).resolve().parent.parent
PREFIX = "signin-webhooks: "
MAC = "3c:22:fb:10:aa:01"


# -- waiting -----------------------------------------------------------------------------------


def wait_until(
    check: Callable[[], T | None], what: str, timeout: float = 5.0, interval: float = 0.01
) -> T:
    """Poll `check` until it returns something truthy, and return that: the actors (or the
    processes) under test work on their own threads."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# -- events and subscriptions ------------------------------------------------------------------


def required(type: str, n: int) -> dict[str, Any]:
    """The fields the family of `type` requires, made from `n` so that events differ; none for
    a type outside the catalogue's families, so that a test can send one."""
    family = type.rsplit(".", 1)[0]
    return {
        "signin.session": {"session_id": f"ses_{n}"},
        "signin.arenasession": {"arena_session_id": f"ars_{n}", "mac": MAC},
        "signin.dhcp": {"mac": MAC, "ip": f"10.20.{n // 256 % 256}.{n % 256}"},
        "signin.configuration": {
            "entity_type": "AccessPolicy",
            "entity_id": f"pol_{n}",
            "action": "x",
        },
    }.get(family, {})


def event(
    key: str | int = 1,
    type: str = "signin.session.created",
    *,
    context: str = "ctx_lobby",
    organization: str = "org_acme",
    **fields: Any,
) -> dict[str, Any]:
    """A valid Sign In event of `type`, in ctx_lobby of org_acme unless told otherwise. A string
    `key` is its id, so a test can follow it to the endpoint; a number n leaves the id to the log
    and makes the fields its family requires the n-th (session ses_n, ...). `fields` are added
    last, so a test can also spoil any field."""
    envelope = {"id": key} if isinstance(key, str) else {}
    n = 1 if isinstance(key, str) else key
    return {
        **envelope,
        "type": type,
        "organization_id": organization,
        "context_id": context,
        **required(type, n),
        **fields,
    }


def subscribe(system: WebhookSystem, endpoint: Endpoint | str, **fields: Any) -> Saved:
    """A context subscription on ctx_lobby named "test" unless told otherwise, to the endpoint's
    /hook (or to a URL)."""
    if "organization" not in fields:
        fields.setdefault("context", "ctx_lobby")
    fields.setdefault("name", "test")
    url = endpoint if isinstance(endpoint, str) else endpoint.url_for("/hook")
    return system.subscriptions.create(url=url, **fields)


# -- what an endpoint received -----------------------------------------------------------------


def header(request: Received, name: str) -> str:
    """The request's one header of that name, whatever its case."""
    matches = [v for k, v in request.headers.items() if k.lower() == name.lower()]
    assert len(matches) == 1, f"{name}: {request.headers}"
    return matches[0]


def objects(request: Received, *, terminated: bool = False) -> list[dict[str, Any]]:
    """The events of a request's body, JSON or NDJSON; `terminated`: the NDJSON body must end
    with a newline."""
    if header(request, "Content-Type") == "application/x-ndjson":
        if terminated:
            assert request.body.endswith(b"\n")
        return [json.loads(line) for line in request.body.splitlines()]
    return json.loads(request.body)


def ids(request: Received) -> list[str]:
    return [obj["id"] for obj in objects(request)]


def received_ids(endpoint: Endpoint) -> list[str]:
    return [i for request in endpoint.requests for i in ids(request)]


# -- the system's own facts in the log ---------------------------------------------------------


def facts(system: WebhookSystem, cls: type[F], sub_id: str | None = None) -> list[F]:
    """The system's own facts of one kind (about one subscription), read from the log."""
    found = []
    for record in system.replay(internal=True):
        if record.type == cls.type_name():
            fact = record.event()
            assert isinstance(fact, cls)
            if sub_id is None or getattr(fact, "subscription_id", None) == sub_id:
                found.append(fact)
    return found


def wait_for_facts(system: WebhookSystem, cls: type[F], sub_id: str, n: int) -> list[F]:
    """At least `n` facts of one kind: the actors record them on their own threads."""

    def enough() -> list[F] | None:
        found = facts(system, cls, sub_id)
        return found if len(found) >= n else None

    return wait_until(enough, f"{n} {cls.__name__}")


# -- DNS ---------------------------------------------------------------------------------------


class FakeDns:
    """A resolver that answers from a table and remembers what it was asked; a name not in the
    table does not resolve."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


# -- the command line --------------------------------------------------------------------------


def invoke(*args: str, **kwargs: Any) -> Result:
    """`signin-webhooks ARGS` in this process; an exception other than the exit is a failure."""
    result = CliRunner().invoke(main, list(args), **kwargs)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args} raised instead of reporting") from result.exception
    return result


def assert_reported(stderr: str, stdout: str = "") -> list[str]:
    """One or more error lines, each with the command's prefix, and never a traceback."""
    lines = stderr.splitlines()
    assert lines, "no error was printed"
    assert all(text.startswith(PREFIX) for text in lines), stderr
    assert "Traceback" not in stderr + stdout
    return lines


def one_error_line(stderr: str, stdout: str = "") -> str:
    """The one error line of a failed command, without its prefix; never a traceback."""
    assert "Traceback" not in stderr + stdout
    [line] = stderr.splitlines()
    assert line.startswith(PREFIX)
    return line.removeprefix(PREFIX)


def fields_of(text: str) -> dict[str, str]:
    """The `name: value` lines of a command's output."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def installed() -> str:
    """The `signin-webhooks` executable installed beside the running interpreter."""
    beside = Path(sys.executable).parent / "signin-webhooks"
    found = str(beside) if beside.exists() else shutil.which("signin-webhooks")
    if found is None:
        pytest.fail("the signin-webhooks command is not installed")
    return found


def without_dac_override() -> Callable[[], None] | None:
    """Root ignores file modes through CAP_DAC_OVERRIDE; dropping it from the child's bounding
    set before exec makes the modes bind. None when not root: the modes bind already."""
    if os.geteuid() != 0:
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def preexec() -> None:
        pr_capbset_drop, cap_dac_override = 24, 1
        if libc.prctl(pr_capbset_drop, cap_dac_override, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return preexec


def run_unprivileged(
    *argv: str, input: bytes = b"", cwd: Path | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `argv` in a process of its own so that file permissions bind, even for root.
    Skips where that cannot be done."""
    try:
        return subprocess.run(
            list(argv),
            input=input,
            capture_output=True,
            preexec_fn=without_dac_override(),
            cwd=cwd,
            timeout=60,
        )
    except subprocess.SubprocessError as e:
        pytest.skip(f"running as root, and cannot drop CAP_DAC_OVERRIDE to make modes bind: {e}")
