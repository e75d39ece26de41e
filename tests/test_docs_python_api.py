"""docs/python-api.md: every public method of WebhookSystem and of its parts has a section with
an example, and the examples run, in order, as one program."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from signin_webhooks import WebhookSystem
from tests.helpers import ROOT

PAGE = ROOT / "docs" / "python-api.md"


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    }


@pytest.mark.parametrize(
    "part", ["system", "subscriptions", "deliveries", "settings", "tokens", "requests"]
)
def test_every_public_method_has_a_section_with_an_example(part: str, tmp_path: Path) -> None:
    system = WebhookSystem(tmp_path / "hooks.db", deliver=False)
    cls = type(system if part == "system" else getattr(system, part))
    text = PAGE.read_text()
    sections = re.split(r"^### ", text, flags=re.M)[1:]
    for method in sorted(public_methods(cls)):
        named = [s for s in sections if re.search(rf"`(\w+\.)?{method}(\(|`)", s.split("\n")[0])]
        assert named, f"{part}.{method} has no section"
        assert any("```python" in s for s in named), f"{part}.{method} has no example"


def test_the_examples_run_in_order_as_one_program(tmp_path: Path) -> None:
    code = "\n".join(re.findall(r"```python\n(.*?)```", PAGE.read_text(), flags=re.S))
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("`run` is already delivering from this database (pid ")
    assert "succeeded 2 [204]" in lines
    assert lines[-1] == "host: SIEM"
