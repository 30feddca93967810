"""Paths and settings from environment variables, with defaults (none needed for the demo)."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

DEFAULT_RAW_DIR = "data/raw"
DEFAULT_WAREHOUSE = "data/warehouse.duckdb"
DEFAULT_PUBLISH = "data/analytics.duckdb"
DEFAULT_EXPORT_DIR = "data/exports"
DEFAULT_START_DATE = "2015-01-01"
# DuckDB's memory cap (its default is 80 % of the machine); work beyond it spills to disk.
DEFAULT_DUCKDB_MEMORY_LIMIT = "2GB"


def _path(var: str, default: str) -> Path:
    return Path(os.environ.get(var) or default).expanduser().resolve()


def raw_dir() -> Path:
    return _path("CDP_RAW_DIR", DEFAULT_RAW_DIR)


def warehouse_path() -> Path:
    return _path("CDP_WAREHOUSE", DEFAULT_WAREHOUSE)


def publish_path() -> Path:
    return _path("CDP_PUBLISH", DEFAULT_PUBLISH)


def export_dir() -> Path:
    return _path("CDP_EXPORT_DIR", DEFAULT_EXPORT_DIR)


def partitions_start_date() -> str:
    """First day of the daily partitions (dump folders before it cannot be loaded)."""
    return os.environ.get("CDP_START_DATE") or DEFAULT_START_DATE


def duckdb_memory_limit() -> str:
    """CDP_DUCKDB_MEMORY_LIMIT: the loader's and dbt's DuckDB memory cap (profiles.yml reads
    the same variable), so a run's peak memory stays bounded however much history it holds."""
    return os.environ.get("CDP_DUCKDB_MEMORY_LIMIT") or DEFAULT_DUCKDB_MEMORY_LIMIT
