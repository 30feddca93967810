"""`cdp build`'s output: a status line and loud lines on the terminal, everything in the log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from orchestration.cli.progress import BuildOutput, log_path


def test_every_line_goes_to_the_log_and_only_warnings_and_errors_to_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with BuildOutput(tmp_path / "build.log") as output:
        output.step("raw__events")
        output.echo("  2026-03-01: 2 files, 10 lines -> 9 loaded")
        output.step("cdp_dbt_models")
        print("12 of 322 PASS not_null_sessions_session_id ... [PASS in 0.02s]")  # dagster-dbt
        assert output.stage == "dbt build: 12 of 322 nodes"
        output.echo("  warning: check marts/sessions:assert_x did not pass")
        output.echo("  error: step cdp_dbt_models failed")
        print("a last line without newline", end="")
    log = (tmp_path / "build.log").read_text().splitlines()
    assert log == [
        "  2026-03-01: 2 files, 10 lines -> 9 loaded",
        "12 of 322 PASS not_null_sessions_session_id ... [PASS in 0.02s]",
        "  warning: check marts/sessions:assert_x did not pass",
        "  error: step cdp_dbt_models failed",
        "a last line without newline",
    ]
    shown = capsys.readouterr().out.splitlines()
    assert shown == [
        "  warning: check marts/sessions:assert_x did not pass",
        "  error: step cdp_dbt_models failed",
    ]
    print("after the build")
    assert capsys.readouterr().out == "after the build\n"  # stdout is given back


def test_verbose_streams_every_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with BuildOutput(tmp_path / "build.log", verbose=True) as output:
        output.echo("  2026-03-01: 2 files, 10 lines -> 9 loaded")
        print("Running with dbt=1.11")
    assert capsys.readouterr().out.splitlines() == [
        "  2026-03-01: 2 files, 10 lines -> 9 loaded", "Running with dbt=1.11",
    ]


def test_log_files_are_named_by_utc_time(tmp_path: Path) -> None:
    at = dt.datetime(2026, 3, 1, 2, 0, 5, tzinfo=dt.UTC)
    assert log_path(tmp_path, at) == tmp_path / "build-20260301T020005Z.log"
