"""Every setting of the platform, read in one place.

Environment variables (each with a default, so nothing must be set for the demo) and the dbt
vars of `dbt_project.yml` are read here and nowhere else: the other modules take paths and
values as arguments. The one thing written back is the environment of the dbt process, whose
`profiles.yml` reads `CDP_WAREHOUSE` (see `point_dbt_at`) and whose tests read `CDP_TEST_DAYS`
(see `scope_dbt_tests`).

| variable | default | what |
|---|---|---|
| CDP_RAW_DIR | data/raw | dump root: one YYYY-MM-DD folder per received day |
| CDP_WAREHOUSE | data/warehouse.duckdb | the DuckDB warehouse |
| CDP_PUBLISH | analytics.duckdb next to the warehouse | read-only copy of the marts for BI |
| CDP_EXPORT_DIR | exports next to the warehouse | audience files |
| CDP_LOG_DIR | logs next to the warehouse | the full log of every `cdp build` |
| CDP_START_DATE | the earliest day folder (else today) | first day of the daily partitions |
| CDP_DUCKDB_MEMORY_LIMIT | 2GB | DuckDB's memory cap (loader, dbt, publish) |
| CDP_MAX_IDENTIFIERS_PER_CUSTOMER | 50 | identity check: above this, a likely over-merge |
| CDP_ALERT_WEBHOOK | (none) | URL that gets a JSON message when a nightly run fails |
| CDP_PRIVACY_SALT | (none) | the privacy salt itself |
| CDP_PRIVACY_SALT_FILE | privacy_salt next to the warehouse | where the salt is kept |
| CDP_DBT_TARGET | duckdb | profiles.yml output: duckdb, spark, or published (`mf` on CDP_PUBLISH) |
| CDP_DBT_THREADS | 1 (duckdb), 2 (spark) | read by profiles.yml |
| CDP_SPARK_DIR | data/spark | local Spark tables and metastore |
| CDP_SPARK_SHUFFLE_PARTITIONS | 2 | spark.sql.shuffle.partitions |
| CDP_SPARK_LOG_LEVEL | ERROR | Spark's log level |
| CDP_SPARK_DRIVER_MEMORY | 2g | the local session's JVM heap (spark.driver.memory) |
| DAGSTER_HOME | .dagster | the Dagster instance `cdp build` records its runs in, `cdp ui` shows |
| CDP_RECORD_RUNS | 1 | 0: `cdp build` runs on a throw-away instance (tests, benchmarks) |
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_PUBLISH = "data/analytics.duckdb"
DEFAULT_EXPORT_DIR = "data/exports"
# DuckDB's memory cap (its default is 80 % of the machine); work beyond it spills to disk.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"
DEFAULT_MAX_IDENTIFIERS_PER_CUSTOMER = 50
DEFAULT_SPARK_DIR = "data/spark"
DEFAULT_DAGSTER_HOME = ".dagster"
SALT_ENV = "CDP_PRIVACY_SALT"
SALT_FILE_ENV = "CDP_PRIVACY_SALT_FILE"
SALT_FILE_NAME = "privacy_salt"
# the received days a nightly build's dbt tests read (set by scope_dbt_tests, read by dbt)
TEST_DAYS_ENV = "CDP_TEST_DAYS"


def _get(var: str, default: str = "") -> str:
    return os.environ.get(var) or default


def _path(var: str, default: str) -> Path:
    return Path(_get(var, default)).expanduser().resolve()


def _beside(warehouse: Path, default: str) -> Path:
    """`default`'s file name in the folder of `warehouse` (data/... for the default one)."""
    return Path(warehouse).expanduser().resolve().parent / Path(default).name


# --- paths -----------------------------------------------------------------------------------


def raw_dir() -> Path:
    return _path("CDP_RAW_DIR", DEFAULT_RAW_DIR)


def warehouse_path() -> Path:
    return _path("CDP_WAREHOUSE", DEFAULT_WAREHOUSE)


def publish_path(warehouse: Path | None = None) -> Path:
    """CDP_PUBLISH, else `analytics.duckdb` next to the warehouse."""
    if _get("CDP_PUBLISH"):
        return _path("CDP_PUBLISH", DEFAULT_PUBLISH)
    return _beside(warehouse or warehouse_path(), DEFAULT_PUBLISH)


def export_dir(warehouse: Path | None = None) -> Path:
    """CDP_EXPORT_DIR, else `exports` next to the warehouse (data/exports by default)."""
    if _get("CDP_EXPORT_DIR"):
        return _path("CDP_EXPORT_DIR", DEFAULT_EXPORT_DIR)
    return _beside(warehouse or warehouse_path(), DEFAULT_EXPORT_DIR)


def log_dir(warehouse: Path | None = None) -> Path:
    """CDP_LOG_DIR, else `logs` next to the warehouse (data/logs by default)."""
    if _get("CDP_LOG_DIR"):
        return _path("CDP_LOG_DIR", "data/logs")
    return _beside(warehouse or warehouse_path(), "data/logs")


def privacy_salt() -> str | None:
    """CDP_PRIVACY_SALT (the salt itself), or None to use the salt file."""
    return _get(SALT_ENV).strip() or None


def privacy_salt_file(warehouse: Path | None = None) -> Path:
    """CDP_PRIVACY_SALT_FILE, else `privacy_salt` next to the warehouse (data/privacy_salt)."""
    if _get(SALT_FILE_ENV):
        return _path(SALT_FILE_ENV, SALT_FILE_NAME)
    return _beside(warehouse or warehouse_path(), SALT_FILE_NAME)


def dagster_home() -> Path:
    """DAGSTER_HOME, else the project's own instance `.dagster` (git-ignored): where `cdp build`
    records its runs and `cdp ui` shows them."""
    return _path("DAGSTER_HOME", DEFAULT_DAGSTER_HOME)


def records_runs() -> bool:
    """Whether `cdp build` records its run in the instance at `dagster_home()`: always when
    DAGSTER_HOME is set, else unless CDP_RECORD_RUNS is 0 (tests and benchmarks use a
    throw-away instance)."""
    if _get("DAGSTER_HOME"):
        return True
    return _get("CDP_RECORD_RUNS", "1").strip().lower() not in ("0", "false", "no")


# --- engine and checks ---------------------------------------------------------------------


def partitions_start_date(raw: Path | None = None) -> str:
    """First day of the daily partitions: CDP_START_DATE, else the earliest day folder in `raw`
    (default: the raw dir), else today (UTC).

    So the partitions are the days there is data for, and the UI's partition bar shows which of
    them are loaded and which are missing; set CDP_START_DATE to show days before the first
    dump as missing (dump folders before it cannot be loaded)."""
    configured = _get("CDP_START_DATE").strip()
    if configured:
        return configured
    from orchestration.ingest.folders import find_day_folders

    days = find_day_folders(raw or raw_dir())
    return days[0] if days else dt.datetime.now(dt.UTC).date().isoformat()


def duckdb_memory_limit() -> str:
    """CDP_DUCKDB_MEMORY_LIMIT: the loader's, dbt's and publishing's DuckDB memory cap
    (profiles.yml reads the same variable, see point_dbt_at), so a run's peak memory stays
    bounded; DuckDB spills to disk beyond it. Default: 2GB, or a third of the machine's
    memory when that is less."""
    return _get("CDP_DUCKDB_MEMORY_LIMIT") or _machine_memory_limit()


def _machine_memory_limit() -> str:
    try:
        third = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 3
    except (ValueError, OSError, AttributeError):  # no sysconf (Windows)
        return DEFAULT_DUCKDB_MEMORY_LIMIT
    return DEFAULT_DUCKDB_MEMORY_LIMIT if third >= 2 * 1000**3 else f"{third // 1000**2}MB"


def max_identifiers_per_customer() -> int:
    """Above this many identifiers a customer is a likely over-merge (shared device, bot)."""
    return int(_get("CDP_MAX_IDENTIFIERS_PER_CUSTOMER", str(DEFAULT_MAX_IDENTIFIERS_PER_CUSTOMER)))


def alert_webhook_url() -> str | None:
    """CDP_ALERT_WEBHOOK: where a failed nightly run is reported (Slack-style JSON)."""
    return _get("CDP_ALERT_WEBHOOK").strip() or None


def dbt_target() -> str:
    return _get("CDP_DBT_TARGET", "duckdb")


def spark_dir() -> str:
    """Where the local Spark session keeps its tables and metastore (CDP_SPARK_DIR).

    Returned as given (relative paths resolve against the working directory), exactly as the
    `spark` target of profiles.yml writes it, so both configure one identical session."""
    return _get("CDP_SPARK_DIR", DEFAULT_SPARK_DIR)


def spark_shuffle_partitions() -> str:
    return _get("CDP_SPARK_SHUFFLE_PARTITIONS", "2")


def spark_driver_memory() -> str:
    """The local session's heap: 1 GB (Spark's default) was measured to run out while a
    10-day batch of 0.86 M lines is cached for classification."""
    return _get("CDP_SPARK_DRIVER_MEMORY", "2g")


def spark_log_level() -> str:
    return _get("CDP_SPARK_LOG_LEVEL", "ERROR")


# --- dbt vars --------------------------------------------------------------------------------


@cache
def dbt_vars() -> dict[str, Any]:
    """The vars of dbt_project.yml (what dbt uses unless --vars overrides them)."""
    import yaml

    try:
        with open(REPO_ROOT / "dbt_project.yml") as fh:
            return dict((yaml.safe_load(fh) or {}).get("vars") or {})
    except OSError:
        return {}


def analytics_consent_category() -> str:
    """dbt var analytics_consent_category: the consent purpose the analytics marts need."""
    return str(dbt_vars().get("analytics_consent_category") or "Analytics")


# --- the environment of child processes ------------------------------------------------------


def point_dbt_at(warehouse: Path) -> None:
    """Make dbt (a subprocess or dbtRunner in this process) build `warehouse`: profiles.yml
    reads CDP_WAREHOUSE (and the memory cap, CDP_DUCKDB_MEMORY_LIMIT), the values handed
    over through the environment."""
    os.environ["CDP_WAREHOUSE"] = str(warehouse)
    os.environ["CDP_DUCKDB_MEMORY_LIMIT"] = duckdb_memory_limit()


def scope_dbt_tests(days: Sequence[str] | None) -> None:
    """Make dbt's generic tests read only the rows of the received `days` (a nightly build: the
    days it loaded) or, with None, every row (dbt_project/macros/test_scope.sql). An environment
    variable read when the tests run, so the days change without re-parsing the project."""
    if days:
        os.environ[TEST_DAYS_ENV] = ",".join(days)
    else:
        os.environ.pop(TEST_DAYS_ENV, None)


def ui_environment(raw_dir: Path, warehouse: Path, home: Path) -> dict[str, str]:
    """The environment of `dg dev` for `cdp ui`: this process's, with the chosen paths and
    instance made absolute, since the UI's processes run from the repository root."""
    return {
        **os.environ, "CDP_RAW_DIR": str(raw_dir), "CDP_WAREHOUSE": str(warehouse),
        "DAGSTER_HOME": str(home),
    }


def point_dbt_at_spark() -> None:
    """Make dbt in this process build the `spark` output of profiles.yml."""
    os.environ["CDP_DBT_TARGET"] = "spark"


def spark_workers_use_this_python() -> None:
    """Spark's Python workers run this interpreter (it has pyspark), not the first on PATH."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
