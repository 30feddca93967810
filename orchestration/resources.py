"""Dagster resources: where the dumps and the warehouse are."""


from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration import settings


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse and the raw dump folder.

    Connections are opened only inside asset bodies (`with warehouse.connect()`), never at
    import time: DuckDB allows one writing process, and a leaked connection would lock the
    dbt subprocess out of the file.
    """

    warehouse: str = settings.DEFAULT_WAREHOUSE
    raw_dir: str = settings.DEFAULT_RAW_DIR

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

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        path = self.warehouse_path
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = duckdb.connect(str(path), read_only=read_only)
        try:
            conn.execute("set timezone = 'UTC'")
            yield conn
        finally:
            conn.close()
