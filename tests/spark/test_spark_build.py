"""`python -m orchestration.ingest.spark_build` skips dbt when nothing changed, as cdp build does.

dbt itself is replaced by a recorder: what is tested is the decision (the loader, the Spark
tables raw.load_log and raw.build_log and build_state's rule), not the models.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from orchestration.generator import generate
from orchestration.ingest import spark_build

pytestmark = pytest.mark.spark

START = dt.date(2026, 5, 4)


@pytest.fixture
def dbt_runs(spark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """The dbt commands a build runs (none really runs); the raw tables start and end empty."""
    runs: list[list[str]] = []

    def record(args: list[str]) -> Any:
        runs.append(args)
        return SimpleNamespace(success=True, result=None)

    monkeypatch.setattr(spark_build, "run_dbt", record)
    monkeypatch.setattr(spark_build, "project_fingerprint", lambda: "project-1")
    monkeypatch.setenv("CDP_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("CDP_PRIVACY_SALT", "spark-build-test")
    _drop_raw_tables(spark)
    yield runs
    _drop_raw_tables(spark)


def _drop_raw_tables(spark) -> None:
    for table in ("events", "superseded", "quarantine", "load_log", "build_log"):
        spark.sql(f"drop table if exists raw.{table}")


def _day(raw: Path, offset: int) -> None:
    generate(raw, days=1, customers=4, seed=offset, start=START + dt.timedelta(days=offset))


def test_a_run_with_nothing_new_skips_dbt(dbt_runs: list, tmp_path: Path, monkeypatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    raw = tmp_path / "raw"
    _day(raw, 0)
    build = ["--raw-dir", str(raw)]
    assert spark_build.main(build) == 0
    assert len(dbt_runs) == 1
    assert "spark build" in capsys.readouterr().out  # the summary table

    summary = tmp_path / "summary.json"
    assert spark_build.main([*build, "--summary-json", str(summary)]) == 0  # nothing new
    assert len(dbt_runs) == 1
    assert capsys.readouterr().out.startswith("nothing to do: no new or changed dump folder")
    assert json.loads(summary.read_text())["ran"] is False  # as cdp build --summary-json says

    _day(raw, 1)  # a new day folder
    assert spark_build.main(build) == 0
    assert len(dbt_runs) == 2

    monkeypatch.setattr(spark_build, "project_fingerprint", lambda: "project-2")
    assert spark_build.main(build) == 0  # a changed project file
    assert len(dbt_runs) == 3
    assert spark_build.main(build) == 0
    assert len(dbt_runs) == 3


def test_a_day_loaded_without_a_build_is_built_next_time(dbt_runs: list, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    _day(raw, 0)
    assert spark_build.main(["--raw-dir", str(raw)]) == 0
    _day(raw, 1)
    assert spark_build.main(["--raw-dir", str(raw), "--no-build"]) == 0  # loads, no dbt
    assert len(dbt_runs) == 1
    assert spark_build.main(["--raw-dir", str(raw)]) == 0  # nothing new to load, but unbuilt
    assert len(dbt_runs) == 2
    assert spark_build.main(["--raw-dir", str(raw)]) == 0
    assert len(dbt_runs) == 2
