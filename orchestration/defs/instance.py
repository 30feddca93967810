"""The Dagster instance `cdp build` records its runs in and `cdp ui` shows.

By default the project's own `.dagster/` (DAGSTER_HOME wins), set up from deploy/dagster.yaml:
one run at a time, one writer per pool, freshness policies evaluated.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg

from orchestration import settings

INSTANCE_TEMPLATE = settings.REPO_ROOT / "deploy" / "dagster.yaml"


def prepare_home(home: Path) -> Path:
    """Create the instance folder with the project's dagster.yaml unless it has one."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(INSTANCE_TEMPLATE, config)
    return home


def build_instance() -> dg.DagsterInstance:
    """The instance a `cdp build` records its run in (ephemeral when runs are not recorded)."""
    if not settings.records_runs():
        return dg.DagsterInstance.ephemeral()
    return dg.DagsterInstance.from_config(str(prepare_home(settings.dagster_home())))
