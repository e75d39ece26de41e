"""docs/api.md run top to bottom: its `serve`, its tokens and every curl command it shows,
against a real server, so that the page cannot drift from the API."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_docs_commands import blocks, environment, workspace

JSON_BLOCK = re.compile(r"^```json\n(.*?)^```", re.M | re.S)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_every_curl_command_of_the_api_page_runs_in_order_and_succeeds(tmp_path: Path) -> None:
    port = str(_free_port())
    (tmp_path / ".curlrc").write_text('write-out = "\\n"\n')  # one answer a line, to read them
    # The page starts `serve` in the background: end it however the script ends.
    script = (
        "set -euo pipefail\ntrap 'kill %1 2>/dev/null || true' EXIT\n"
        + "\n".join(blocks("api.md", "sh"))
        + '\necho "SUB=$SUB"\n'
    )
    process = subprocess.Popen(
        ["bash", "-c", script.replace("8080", port)],
        cwd=workspace(tmp_path),
        env={**environment(tmp_path), "CURL_HOME": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    sub = lines[-1].removeprefix("SUB=")
    assert sub.startswith("sub_")
    assert lines.count(sub) == 1  # the idempotent retry printed the same id; no second one
    shown = [json.loads(block) for block in JSON_BLOCK.findall((ROOT / "docs/api.md").read_text())]
    printed = [json.loads(line) for line in lines if line.startswith("{")]
    for example in shown:
        assert example in printed, example
    problems = [p for p in printed if "status" in p and "title" in p]
    assert problems == [shown[-1]]  # the one error the page means to show
