"""One small warehouse, built once per test session through the nightly Dagster job, shared by
the operations tests (publish, docs, semantic layer). Keep it read-only in tests: copy it
before changing anything."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRST_DAY = dt.date(2026, 5, 4)


@dataclass(frozen=True)
class BuiltWarehouse:
    root: Path
    raw: Path
    warehouse: Path
    published: Path
    dagster_home: Path
    days: list[str]
    summary: dict

    @property
    def parquet_dir(self) -> Path:
        return self.published.parent / "parquet"


_built: BuiltWarehouse | None = None


def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> BuiltWarehouse:
    """Generate 3 days of traffic and run the nightly job once per session; the run is recorded
    in a Dagster instance (DAGSTER_HOME from deploy/dagster.yaml)."""
    global _built
    if _built is not None:
        return _built
    from orchestration.defs.runner import run_nightly_job
    from orchestration.generator import generate
    from orchestration.ingest.folders import find_day_folders

    root = tmp_path_factory.mktemp("ops")
    raw, warehouse, published = root / "raw", root / "warehouse.duckdb", root / "analytics.duckdb"
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    generate(raw, days=3, customers=80, seed=23, start=FIRST_DAY)
    days = find_day_folders(raw)
    with _env(CDP_PUBLISH=str(published), DAGSTER_HOME=str(dagster_home)):
        summary = run_nightly_job(raw, warehouse, days, echo=lambda _line: None)
    _built = BuiltWarehouse(root, raw, warehouse, published, dagster_home, days, summary)
    return _built


class _env:
    """Set environment variables for a block and restore them after (session-safe)."""

    def __init__(self, **values: str) -> None:
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self) -> None:
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value

    def __exit__(self, *_exc: object) -> None:
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt_project_copy(dest: Path) -> Path:
    """A folder that is the dbt project (symlinks to its files) with its own target/ and logs/,
    so tools that insist on `<project>/target` (MetricFlow's `mf`) leave the repo alone."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds"):
        link = dest / name
        if not link.exists():
            link.symlink_to(REPO_ROOT / name)
    return dest


@dataclass(frozen=True)
class DbtDocs:
    project: Path  # the dbt project (symlinks) with its own target/
    warehouse: Path  # a copy of the built warehouse the docs and metrics were made from
    target: Path

    def json(self, name: str) -> dict:
        return json.loads((self.target / name).read_text())


_docs: DbtDocs | None = None


def dbt_docs(tmp_path_factory: pytest.TempPathFactory) -> DbtDocs:
    """`dbt docs generate` (through dbtRunner) once per session, on a copy of the built
    warehouse, into a project folder whose target/ also serves MetricFlow's `mf`."""
    global _docs
    if _docs is not None:
        return _docs
    from dbt.cli.main import dbtRunner

    built = built_warehouse(tmp_path_factory)
    root = tmp_path_factory.mktemp("dbt_docs")
    project = dbt_project_copy(root / "project")
    warehouse = root / "warehouse.duckdb"
    shutil.copy(built.warehouse, warehouse)
    target = project / "target"
    with _env(CDP_WAREHOUSE=str(warehouse)):
        result = dbtRunner().invoke([
            "docs", "generate", "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(target), "--log-path", str(root / "logs"), "--quiet",
        ])
    if not result.success:
        raise AssertionError(f"dbt docs generate failed: {result.exception}")
    _docs = DbtDocs(project, warehouse, target)
    return _docs
