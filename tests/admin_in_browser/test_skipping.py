"""Without SIGNIN_WEBHOOKS_TEST_BROWSER the browser tests skip, saying how to run them; where
it is set, or in CI, a missing Chromium fails them instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.admin_in_browser import DEBIAN_CHROMIUM, ENV, SKIP_REASON, chromium_path


def test_unset_they_skip_saying_how_to_run_them(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium_path()
    assert str(skipped.value) == SKIP_REASON
    assert (
        SKIP_REASON == "set SIGNIN_WEBHOOKS_TEST_BROWSER=/usr/bin/chromium to run the browser tests"
    )


@pytest.mark.parametrize("given", [{ENV: "1"}, {"CI": "true"}])
def test_promised_they_take_debians_chromium(monkeypatch, given) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("CI", raising=False)
    for name, value in given.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("os.path.isfile", lambda path: path == DEBIAN_CHROMIUM)
    monkeypatch.setattr("os.access", lambda path, mode: path == DEBIAN_CHROMIUM)
    assert chromium_path() == DEBIAN_CHROMIUM


@pytest.mark.parametrize("ci", [None, "true"])
def test_promised_but_missing_they_fail_rather_than_skip(monkeypatch, tmp_path: Path, ci) -> None:
    missing = tmp_path / "no-chromium"
    monkeypatch.setenv(ENV, str(missing))
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium_path()
    assert str(failed.value) == (
        f"no Chromium at {missing} (apt-get install -y chromium), but {ENV} is set or CI=true"
    )


def test_in_ci_without_the_variable_a_missing_chromium_fails(monkeypatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr("os.path.isfile", lambda path: False)
    with pytest.raises(pytest.fail.Exception, match=f"no Chromium at {DEBIAN_CHROMIUM}"):
        chromium_path()
