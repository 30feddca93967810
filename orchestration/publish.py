"""Publish the marts for BI: a separate read-only DuckDB file and one Parquet file per mart.

DuckDB allows one writing process, and while it writes nobody else can open the file, not even
read-only. So BI tools never read the warehouse: after each successful build the marts are
copied into a new file next to the published one, which is then renamed over it
(`os.replace`, atomic on one filesystem). A reader that has the old file open keeps reading the
old build; a reader that opens the path gets either the old or the new build, never half of
one, and nobody ever waits for a lock. A failure before the rename leaves the previous
published file (and Parquet files) exactly as they were.

The published file holds only the schema `marts` (tables named as in the warehouse, so one
query works on both files), plus `marts.build_info`: one row per published table with the
build id, the publish time and the row count, so a reader can check what it sees.
"""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import duckdb

from orchestration import settings
from orchestration.sql import literal

SCHEMA = "marts"
BUILD_INFO = "build_info"
_ATTACH_ALIAS = "cdp_publish_target"


class PublishError(RuntimeError):
    """Publishing failed; the previously published files are unchanged."""


def default_parquet_dir(target: Path) -> Path:
    """`<publish dir>/parquet`: where each mart is exported as `<mart>.parquet`."""
    return Path(target).parent / "parquet"


def publish_marts(
    warehouse: Path,
    target: Path,
    parquet_dir: Path,
    *,
    descriptions: Mapping[str, Mapping] | None = None,
    build_id: str | None = None,
) -> dict:
    """Copy every table and view of schema `marts` of `warehouse` into a new DuckDB file,
    export each as Parquet, then rename the new files over `target` and
    `parquet_dir/<mart>.parquet`.

    `descriptions` (optional): {table: {"description": str, "columns": {column: str}}}, written
    as DuckDB comments so BI tools show the dbt docs. Returns the build id, the publish time,
    the paths and the row count of every published table. Raises PublishError (with the old
    files untouched) when anything fails before the rename.
    """
    warehouse, target, parquet_dir = Path(warehouse), Path(target), Path(parquet_dir)
    if target.resolve() == warehouse.resolve():
        raise PublishError(f"{target}: the published file must not be the warehouse itself")
    started = time.perf_counter()
    build_id = build_id or uuid.uuid4().hex[:16]
    published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    target.parent.mkdir(parents=True, exist_ok=True)
    parquet_dir.mkdir(parents=True, exist_ok=True)
    tmp_db = target.with_name(f".{target.name}.{build_id}.tmp")
    tmp_parquet: dict[str, Path] = {}
    try:
        row_counts = _write_new_files(
            warehouse, tmp_db, parquet_dir, build_id, published_at, descriptions or {},
            tmp_parquet,
        )
        _fsync(tmp_db)
        # The point of no return: everything is written; swap the new files in.
        os.replace(tmp_db, target)
        for name, tmp in tmp_parquet.items():
            os.replace(tmp, parquet_dir / f"{name}.parquet")
        _fsync(target.parent)
    except Exception as exc:
        for path in [tmp_db, tmp_db.with_name(tmp_db.name + ".wal"), *tmp_parquet.values()]:
            path.unlink(missing_ok=True)
        if isinstance(exc, PublishError):
            raise
        raise PublishError(
            f"publishing the marts of {warehouse} to {target} failed ({exc}); "
            "the previously published files are unchanged"
        ) from exc
    # A write-ahead log of the replaced file would not belong to the new one.
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    return {
        "build_id": build_id,
        "published_at": published_at.isoformat(),
        "target": str(target),
        "parquet_dir": str(parquet_dir),
        "row_counts": row_counts,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _write_new_files(
    warehouse: Path,
    tmp_db: Path,
    parquet_dir: Path,
    build_id: str,
    published_at: dt.datetime,
    descriptions: Mapping[str, Mapping],
    tmp_parquet: dict[str, Path],
) -> dict[str, int]:
    if not warehouse.exists():
        raise PublishError(f"{warehouse}: no such warehouse")
    # The warehouse is the main database, so views in `marts` resolve as they do in dbt.
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        conn.execute("set timezone = 'UTC'")
        # Tables have no row order for readers; not keeping it lets DuckDB copy in parallel
        # (page_views at 10 M events: 34 s -> 19 s). Memory capped as in the build.
        conn.execute("set preserve_insertion_order = false")
        conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit()}'")
        tables = mart_relations(conn)
        if not tables:
            raise PublishError(f"{warehouse}: schema {SCHEMA} has no tables (has dbt run?)")
        conn.execute(f"attach {literal(tmp_db)} as {_ATTACH_ALIAS} (read_write)")
        out = f"{_ATTACH_ALIAS}.{SCHEMA}"
        conn.execute(f"create schema {out}")
        row_counts: dict[str, int] = {}
        for table in tables:
            conn.execute(f'create table {out}."{table}" as select * from {SCHEMA}."{table}"')
            row_counts[table] = int(
                conn.execute(f'select count(*) from {out}."{table}"').fetchone()[0]
            )
        conn.execute(
            f"""
            create table {out}.{BUILD_INFO} (
                build_id varchar not null,
                published_at timestamp not null,
                table_name varchar not null,
                row_count bigint not null
            )
            """
        )
        conn.executemany(
            f"insert into {out}.{BUILD_INFO} values (?, ?, ?, ?)",
            [(build_id, published_at, table, rows) for table, rows in row_counts.items()],
        )
        _write_comments(conn, out, tables, descriptions)
        for table in [*tables, BUILD_INFO]:
            tmp = parquet_dir / f".{table}.parquet.{build_id}.tmp"
            tmp_parquet[table] = tmp
            # from the warehouse (uncompressed reads), except build_info, which only `out` has
            source = out if table == BUILD_INFO else SCHEMA
            conn.execute(
                f"copy (select * from {source}.\"{table}\") to {literal(tmp)} "
                "(format parquet, compression zstd)"
            )
        conn.execute(f"detach {_ATTACH_ALIAS}")
    return row_counts


def mart_relations(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables and views of schema `marts` in the connection's main database, sorted."""
    rows = conn.execute(
        f"""
        select table_name from duckdb_tables()
        where database_name = current_database() and schema_name = '{SCHEMA}'
        union
        select view_name from duckdb_views()
        where database_name = current_database() and schema_name = '{SCHEMA}' and not internal
        """
    ).fetchall()
    return sorted(r[0] for r in rows if r[0] != BUILD_INFO)


def _write_comments(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    tables: list[str],
    descriptions: Mapping[str, Mapping],
) -> None:
    conn.execute(
        f"comment on table {schema}.{BUILD_INFO} is "
        "'One row per published table: the build id, publish time and row count.'"
    )
    for table in tables:
        docs = descriptions.get(table) or {}
        if docs.get("description"):
            conn.execute(
                f"comment on table {schema}.\"{table}\" is {literal(docs['description'])}"
            )
        columns = {
            r[0] for r in conn.execute(
                "select column_name from duckdb_columns() where database_name = ? "
                "and schema_name = ? and table_name = ?",
                [_ATTACH_ALIAS, SCHEMA, table],
            ).fetchall()
        }
        for column, text in (docs.get("columns") or {}).items():
            if text and column in columns:
                conn.execute(
                    f"comment on column {schema}.\"{table}\".\"{column}\" is {literal(text)}"
                )


def dbt_descriptions(manifest: Mapping) -> dict[str, dict]:
    """Descriptions of the dbt models in schema `marts`, from a parsed manifest.json."""
    docs: dict[str, dict] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") != SCHEMA:
            continue
        docs[node.get("alias") or node["name"]] = {
            "description": " ".join((node.get("description") or "").split()),
            "columns": {
                name: " ".join((col.get("description") or "").split())
                for name, col in (node.get("columns") or {}).items()
            },
        }
    return docs


def read_build_info(path: Path) -> dict:
    """Build id, publish time and row counts of a published file (opened read-only)."""
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            f"select build_id, published_at, table_name, row_count from {SCHEMA}.{BUILD_INFO}"
        ).fetchall()
    if not rows:
        return {}
    return {
        "build_id": rows[0][0],
        "published_at": rows[0][1].isoformat(),
        "row_counts": {r[2]: int(r[3]) for r in rows},
    }


def headline_metrics(path: Path) -> dict[str, float | int]:
    """Plain numbers for the Dagster UI to plot over time: customers, sessions, page views,
    app screen views and sessions, orders, revenue, bounce and conversion rate (bounces and
    converting sessions per entrance, as the semantic layer's metrics). Marts that are missing
    are left out."""
    queries = {
        "customers": "select count(*) from marts.customer_360",
        "orders": "select coalesce(sum(orders), 0) from marts.customer_360",
        "revenue": "select coalesce(sum(revenue), 0) from marts.customer_360",
        "sessions": "select count(*) from marts.sessions",
        "page_views": "select count(*) from marts.page_views",
        "screen_views": "select count(*) from marts.screen_views",
        "app_sessions": "select count(*) from marts.sessions where is_app_session",
        # as the semantic layer's metrics: sums over marts.page_metrics_daily
        "bounce_rate": (
            "select sum(bounces) / nullif(sum(entrances), 0) from marts.page_metrics_daily"
        ),
        "conversion_rate": (
            "select sum(conversions) / nullif(sum(entrances), 0) from marts.page_metrics_daily"
        ),
    }
    metrics: dict[str, float | int] = {}
    with duckdb.connect(str(path), read_only=True) as conn:
        for name, sql in queries.items():
            try:
                value = conn.execute(sql).fetchone()[0]
            except duckdb.CatalogException:
                continue
            if value is None:
                continue
            is_int = isinstance(value, int) or name in (
                "customers", "sessions", "page_views", "screen_views", "app_sessions")
            metrics[name] = int(value) if is_int else round(float(value), 6)
    return metrics


def _fsync(path: Path) -> None:
    """Flush a file (or a folder, for a rename) to disk; best effort where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
