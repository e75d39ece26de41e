"""Every `# type: ignore` that remains names its error code and says why it is there."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import ROOT

HERE = Path(__file__).resolve()

IGNORE = re.compile(r"#\s*type:\s*ignore(?P<rest>.*)$")
EXPLAINED = re.compile(r"^\[[a-z-]+(, [a-z-]+)*\]  # \S")


def test_every_type_ignore_has_a_code_and_a_reason() -> None:
    unexplained = []
    for folder in ("actors", "eventstore", "cli", "signin_webhooks", "tests", ".ci"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix != ".py" and path.name != "typecheck":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                found = IGNORE.search(line)
                if found and not EXPLAINED.match(found["rest"]) and path != HERE:
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not unexplained, "\n".join(unexplained)
