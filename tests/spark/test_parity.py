"""The same dumps built on DuckDB and on Spark give the same raw tables and marts, row for row.

Run with `uv run --extra spark pytest -m spark tests/spark` (see conftest.py). The fixture and
the comparison rules are in parity_support.py.
"""

from __future__ import annotations

import json
import time

import pytest

from orchestration.ingest.contract import MESSAGE_COLUMNS
from spark.junk_fixture import JUNK, junk_visitors, write_junk_fixture
from spark.parity_support import (
    BUILD_TIME_COLUMNS,
    DAYS,
    build_duckdb,
    build_spark,
    compare,
    duckdb_rows,
    duckdb_tables,
    spark_rows,
    write_fixture,
)

pytestmark = [pytest.mark.spark, pytest.mark.slow]

# Models and seeds; dbt's data tests run on both engines in the main suite and here only the
# project's own SQL tests (singular tests and the generic tests of dbt_project/macros), which
# are the ones with hand-written, engine-specific SQL.
DBT_BUILD = [
    "build", "--exclude-resource-type", "unit_test", "--indirect-selection", "empty",
    "--select", "resource_type:model", "resource_type:seed", "test_type:singular",
    "test_name:rows_satisfy", "test_name:unique_combination",
]


@pytest.fixture(scope="module")
def builds(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("parity")
    raw = root / "raw"
    write_fixture(raw, root)
    write_junk_fixture(raw, DAYS[1])
    started = time.perf_counter()
    warehouse, duck = build_duckdb(raw, root / "duckdb", DBT_BUILD)
    duck.seconds["total"] = time.perf_counter() - started
    started = time.perf_counter()
    on_spark = build_spark(spark, raw, root / "spark", warehouse, DBT_BUILD)
    on_spark.seconds["total"] = time.perf_counter() - started
    print(f"\nparity builds (s): duckdb {fmt(duck.seconds)}; spark {fmt(on_spark.seconds)}"
          + "".join(f"\n  note: {note}" for note in on_spark.notes))
    return warehouse, duck, on_spark


def documents_parsed(result: tuple[list[str], list[tuple]]) -> tuple[list[str], list[tuple]]:
    """The sub-document columns of raw.events (MESSAGE_COLUMNS of kind doc) as JSON values:
    both engines keep the same document, but Spark's JSON writer escapes characters outside
    the Basic Multilingual Plane (an emoji as \\uD83D\\uDE00) where DuckDB writes them as
    they are."""
    columns, rows = result
    docs = {i for i, c in enumerate(columns) if c in {f.column for f in MESSAGE_COLUMNS
                                                       if f.kind == "doc"}}
    return columns, [
        tuple(json.loads(v) if i in docs and v is not None else v for i, v in enumerate(row))
        for row in rows
    ]


def fmt(seconds: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())


def test_loader_gives_the_same_raw_tables(spark, builds):
    warehouse = builds[0]
    queries = {
        "raw.events": "select * from raw.events",
        # not compared: the text of an unreadable file (each engine's error message) and of
        # an invalid UTF-8 line (each engine shows the undecodable bytes its own way)
        "raw.quarantine": "select source_file, line_number, received_date, reason, "
        "case when line_number is not null and reason <> 'invalid UTF-8' then raw_line end "
        "as raw_line from raw.quarantine",
        "raw.load_log": "select received_date, files, empty_files, lines, loaded, duplicates, "
        "quarantined, unreadable_files, suppressed, fingerprint from raw.load_log",
    }
    problems = []
    for name, sql in queries.items():
        problems += compare(name, documents_parsed(duckdb_rows(warehouse, sql)),
                            documents_parsed(spark_rows(spark, sql)))
    assert not problems, "\n".join(problems)
    reasons = duckdb_rows(warehouse, "select distinct reason from raw.quarantine")[1]
    assert len(reasons) >= 10, reasons  # the fixture exercises (nearly) every quarantine reason


def test_every_mart_is_the_same_on_both_engines(spark, builds):
    warehouse = builds[0]
    marts = duckdb_tables(warehouse, "marts")
    assert len(marts) >= 14, marts
    problems, empty = [], []
    for mart in marts:
        sql = f"select * from marts.{mart}"
        duck_side = duckdb_rows(warehouse, sql)
        problems += compare(f"marts.{mart}", duck_side, spark_rows(spark, sql),
                            ignore=BUILD_TIME_COLUMNS)
        if not duck_side[1]:
            empty.append(mart)
    assert not problems, "\n".join(problems)
    assert not empty, f"the fixture leaves these marts empty: {empty}"


def test_seeds_are_the_same_on_both_engines(spark, builds):
    """Reference data loads value for value: `null`, `''` and `""` stay text on Spark too."""
    warehouse = builds[0]
    seeds = duckdb_tables(warehouse, "staging")
    problems = []
    for seed in ("junk_identifiers", "referrer_mapping"):
        assert seed in seeds
        sql = f"select * from staging.{seed}"
        problems += compare(f"staging.{seed}", duckdb_rows(warehouse, sql), spark_rows(spark, sql))
    assert not problems, "\n".join(problems)
    values = {row[0] for row in spark_rows(spark, "select identifier_value from "
                                                  "staging.junk_identifiers")[1]}
    assert {"null", "''", '""'} <= values


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_junk_identifiers_link_no_customers(spark, builds, engine):
    """Two visitors sharing a placeholder user id, email, anonymous id or alias stay apart."""
    warehouse = builds[0]
    visitors = ", ".join(f"'{v}'" for v in junk_visitors())
    junk = ", ".join("'" + value.lower().replace("'", "''") + "'" for _, value in JUNK)
    rows = (duckdb_rows if engine == "duckdb" else spark_rows)(
        warehouse if engine == "duckdb" else spark,
        f"""
        select
            (select count(distinct customer_id) from marts.identity_graph
             where identifier_value in ({visitors})) as customers,
            (select count(*) from marts.identity_graph
             where lower(identifier_value) in ({junk})) as junk_nodes
        """,
    )[1]
    customers, junk_nodes = rows[0]
    assert (customers, junk_nodes) == (len(junk_visitors()), 0)
