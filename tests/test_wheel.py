"""The built wheel installs one top-level package, `signin_webhooks`, and works from there.

The wheel is built from a copy of the checkout (a stale `build/` cannot leak into it) and
installed without dependencies into a venv of its own; the dependencies are lent from the running
environment by a path file, so that the test needs no package index."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.helpers import ROOT

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis", "*.db"
)


def run(*argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run away from the checkout: `python -m` and `-c` put the working directory first on
    sys.path, and the checkout's own `signin_webhooks/` folder would shadow the installed one."""
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, timeout=300, check=True, cwd=cwd
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A venv holding only the wheel, and what the install added to its site-packages."""
    tmp = tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, tmp / "src", ignore=IGNORED)
    pip = (sys.executable, "-m", "pip")
    run(*pip, "wheel", "-q", "--no-deps", "-w", tmp / "dist", tmp / "src", cwd=tmp)
    [wheel] = (tmp / "dist").glob("*.whl")
    venv = tmp / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp)
    python = venv / "bin" / "python"
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run(python, "-c", where, cwd=tmp).stdout.strip())
    before = {p.name for p in site.iterdir()}
    run(*pip, "--python", python, "install", "-q", "--no-deps", wheel, cwd=tmp)
    added = {p.name for p in site.iterdir()} - before
    (site / "lent-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return venv, added


def test_the_wheel_installs_exactly_one_top_level_package(installed: tuple[Path, set[str]]) -> None:
    venv, added = installed
    top_level = {name for name in added if not name.endswith(".dist-info")}
    assert top_level == {"signin_webhooks"}
    where = "import signin_webhooks; print(signin_webhooks.__file__)"
    shown = run(venv / "bin" / "python", "-c", where, cwd=venv)
    assert Path(shown.stdout.strip()).is_relative_to(venv)


def test_the_installed_package_runs_as_a_module_and_as_a_command(
    installed: tuple[Path, set[str]], tmp_path: Path
) -> None:
    venv, _ = installed
    help_text = run(venv / "bin" / "python", "-m", "signin_webhooks", "--help", cwd=tmp_path).stdout
    assert "Usage: signin-webhooks" in help_text and "subscriptions" in help_text
    demo = run(venv / "bin" / "signin-webhooks", "demo", cwd=tmp_path).stdout
    assert "HTTP 200 -> succeeded" in demo


def test_the_wheel_holds_the_admin_pages_templates_and_htmx(
    installed: tuple[Path, set[str]],
) -> None:
    venv, _ = installed
    where = "import signin_webhooks.cli.admin as a; print(a.__file__)"
    admin = Path(run(venv / "bin" / "python", "-c", where, cwd=venv).stdout.strip()).parent
    assert (admin / "templates" / "base.html").is_file()
    assert (admin / "templates" / "_deliveries.html").is_file()
    assert (admin / "static" / "htmx.min.js").read_bytes() == (
        ROOT / "cli" / "admin" / "static" / "htmx.min.js"
    ).read_bytes()
    assert (admin / "static" / "htmx.LICENSE").is_file()
