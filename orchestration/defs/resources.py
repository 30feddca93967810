"""Dagster resources: where the dumps and the warehouse are."""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource
from packaging import version

from orchestration import settings
from orchestration.warehouse import connect


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse and the raw dump folder.

    Connections are opened only inside asset bodies (`with warehouse.connect()`), never at
    import time: DuckDB allows one writing process, and a leaked connection would lock the
    dbt subprocess out of the file.
    """

    warehouse: str = settings.DEFAULT_WAREHOUSE
    raw_dir: str = settings.DEFAULT_RAW_DIR
    # Published read-only copy of the marts for BI; None: CDP_PUBLISH, else analytics.duckdb
    # next to the warehouse (data/analytics.duckdb for the default warehouse).
    publish: str | None = None

    @classmethod
    def from_env(cls) -> "WarehouseResource":
        """Paths from CDP_WAREHOUSE / CDP_RAW_DIR, with the documented defaults."""
        return cls(warehouse=str(settings.warehouse_path()), raw_dir=str(settings.raw_dir()))

    @property
    def warehouse_path(self) -> Path:
        return Path(self.warehouse).expanduser().resolve()

    @property
    def raw_path(self) -> Path:
        return Path(self.raw_dir).expanduser().resolve()

    @property
    def publish_path(self) -> Path:
        if self.publish:
            return Path(self.publish).expanduser().resolve()
        return settings.publish_path(self.warehouse_path)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with connect(self.warehouse_path, read_only=read_only) as conn:
            yield conn


class CdpDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two start-up costs this project never uses.

    Before every `dbt build`, `DbtCliResource.cli` runs `dbt --version` in a subprocess (to
    tell dbt-core from the Fusion engine) and builds a dbt adapter in-process (loading the
    profile, the project and every macro) for `fetch_row_counts()` /
    `fetch_column_metadata()`; together 5-14 s per run on 2 cores. We run dbt-core (pinned in
    pyproject.toml) and read row counts ourselves once dbt has released the warehouse
    (`orchestration/defs/dbt.py`), so the version comes from the installed package and no
    adapter is built: dagster-dbt then skips only those two fetchers.
    """

    @property
    def _cli_version(self) -> version.Version:
        from importlib.metadata import version as installed_version

        return version.parse(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: object) -> None:  # type: ignore[override]
        return None
