"""`cdp ui` opens `dg dev` on the project's instance, with the chosen paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from orchestration import settings
from orchestration.cli import main


class FakeProcess:
    calls: list[dict[str, Any]] = []

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        FakeProcess.calls.append({"command": command, "cwd": cwd, "env": env})

    def wait(self) -> int:
        return 0


@pytest.fixture
def fake_dg(monkeypatch: pytest.MonkeyPatch) -> type[FakeProcess]:
    FakeProcess.calls = []
    monkeypatch.setattr("orchestration.cli.ui.subprocess.Popen", FakeProcess)
    return FakeProcess


def test_ui_runs_dg_dev_on_the_project_instance_by_default(
    fake_dg: type[FakeProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["ui", "--port", "3555", "--warehouse", "w.duckdb"])
    assert result.exit_code == 0, result.output
    (call,) = fake_dg.calls
    assert Path(call["command"][0]).name == "dg"
    assert call["command"][1:] == ["dev", "--port", "3555", "--host", "127.0.0.1"]
    assert call["cwd"] == settings.REPO_ROOT
    home = tmp_path / ".dagster"
    assert call["env"]["DAGSTER_HOME"] == str(home)
    assert call["env"]["CDP_WAREHOUSE"] == str(tmp_path / "w.duckdb")
    # the instance is set up with the project's settings (one run at a time, freshness)
    assert (home / "dagster.yaml").read_text() == (
        settings.REPO_ROOT / "deploy" / "dagster.yaml"
    ).read_text()


def test_dagster_home_wins_over_the_project_instance(
    fake_dg: type[FakeProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    result = CliRunner().invoke(main, ["ui"])
    assert result.exit_code == 0, result.output
    assert fake_dg.calls[0]["env"]["DAGSTER_HOME"] == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "dagster.yaml").exists()


def test_builds_record_runs_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("CDP_RECORD_RUNS", "1")
    assert settings.records_runs()
    monkeypatch.setenv("CDP_RECORD_RUNS", "0")
    assert not settings.records_runs()
    monkeypatch.setenv("DAGSTER_HOME", "/somewhere")
    assert settings.records_runs()
