"""The dbt project as Dagster sees it, and preparing its manifest outside `dagster dev`."""

from __future__ import annotations

from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import REPO_ROOT

DBT_SOURCES = ("dbt_project.yml", "profiles.yml", "dbt_project", "seeds")

dbt_project = DbtProject(project_dir=REPO_ROOT, profiles_dir=REPO_ROOT)


def _newest_source_mtime(root: Path) -> float:
    newest = 0.0
    for name in DBT_SOURCES:
        path = root / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for child in path.rglob("*"):
                if child.is_file():
                    newest = max(newest, child.stat().st_mtime)
    return newest


def manifest_is_stale(project: DbtProject = dbt_project) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        Path(project.project_dir)
    )


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project when the manifest is missing or older than any dbt file.

    `DbtProject.prepare_if_dev()` only does this under `dagster dev`; the CLI, the tests,
    CI and a deployed webserver all load the definitions without it.
    """
    if manifest_is_stale(project):
        project.preparer.prepare(project)
    return project.manifest_path
