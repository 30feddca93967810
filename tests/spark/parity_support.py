"""Build one set of dumps on DuckDB and on Spark and compare the results row for row.

The fixture is the smallest that still gives rows in every mart: three days from the sample
generator (sessions, identity merges and conflicts, consent, orders, duplicates, malformed
lines), plus hand-made messages for what three days cannot show (a dormant sign-up and a
high-value customer for the audiences) and a file of loader edge cases (every quarantine reason,
encodings, offsets, truncated and unreadable gzip). Both engines load the same folders with
their own loader (orchestration.ingest.duckdb_loader, orchestration.ingest.spark_loader) and
build the same dbt project; then every table of schema `marts`, and raw.events /
raw.quarantine / raw.load_log, are compared: same columns, same rows in any order, floats to
1e-9 relative, timestamps to the microsecond.
"""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import json
import math
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from orchestration import privacy
from orchestration.generator import generate
from orchestration.ingest import duckdb_loader as ingestion
from orchestration.ingest import spark_build, spark_loader
from orchestration.ingest.folders import find_day_folders

REPO_ROOT = Path(__file__).resolve().parents[2]

SALT = "parity-test-salt"
START = dt.date(2026, 3, 2)
DAYS = [START + dt.timedelta(days=i) for i in range(3)]

# Columns that hold the build time, not data: compared for presence only.
BUILD_TIME_COLUMNS = {"built_at", "entered_at"}


# --- the dumps -----------------------------------------------------------------------------


def _iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _msg(type_: str, message_id: str, at: dt.datetime, received: dt.datetime | None = None,
         **fields: Any) -> dict:
    msg = {"type": type_, "messageId": message_id, "timestamp": _iso(at),
           "receivedAt": _iso(received or at), "context": {"library": {"name": "analytics.js"}}}
    for key, value in fields.items():
        if key == "consent":
            msg["context"]["consent"] = {"categoryPreferences": value}
        elif key == "page":
            msg["context"]["page"] = value
        else:
            msg[key] = value
    return msg


def audience_messages(day: dt.date) -> list[dict]:
    """A dormant sign-up (signed up 20 days before the data's newest event, nothing since) and
    a high-value customer (one order over 500), both consenting to advertising."""
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    long_ago = noon - dt.timedelta(days=20)
    ads = {"Advertising": True, "Analytics": True}
    page = {"path": "/signup", "url": "https://shop.example.com/signup?utm_source=news",
            "title": "Sign up", "referrer": "https://www.google.com/"}
    return [
        _msg("page", "dormant-1", long_ago, noon, anonymousId="dormant-anon", name="Sign up",
             page=page, consent=ads),
        _msg("identify", "dormant-2", long_ago + dt.timedelta(seconds=30), noon,
             anonymousId="dormant-anon", userId="dormant-user",
             traits={"email": " Dormant@Example.com ", "first_name": "Dora",
                     "phone": "+1 (555) 010-7788"},
             consent=ads),
        _msg("track", "dormant-3", long_ago + dt.timedelta(seconds=31, microseconds=250_000),
             noon, anonymousId="dormant-anon", userId="dormant-user", event="Signed Up",
             consent=ads),
        _msg("identify", "rich-1", noon - dt.timedelta(hours=2), anonymousId="rich-anon",
             userId="rich-user", traits={"email": "rich@example.com", "name": "Rich"},
             consent=ads),
        _msg("track", "rich-2", noon - dt.timedelta(hours=1, microseconds=1),
             anonymousId="rich-anon", userId="rich-user", event="Order Completed", consent=ads,
             properties={"order_id": "rich-order", "revenue": 612.5, "currency": "eur"},
             page={"path": "/checkout/", "url": "https://shop.example.com/checkout/"}),
        _msg("page", "rich-3", noon - dt.timedelta(hours=1, minutes=30), anonymousId="rich-anon",
             userId="rich-user", name="Pricing", consent=ads,
             page={"path": "/pricing", "url": "https://shop.example.com/pricing#plans",
                   "referrer": "https://m.facebook.com/story"}),
    ]


def edge_case_lines(day: dt.date) -> list[str | bytes]:
    """Lines that exercise every loader rule (classification, times, encodings)."""
    at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)

    def line(message_id: str, **fields: Any) -> str:
        msg = {"type": "track", "event": "Clicked", "messageId": message_id,
               "timestamp": _iso(at), "anonymousId": "edge-anon"}
        msg.update(fields)
        return json.dumps({k: v for k, v in msg.items() if v is not None})

    return [
        line("edge-ok"),
        "",
        " \t ",
        '{"type": "track", "messageId": ',
        line("edge-trailing") + " trailing",
        line("edge-two") + ", {}",
        "[1, 2, 3]",
        '"just a string"',
        "42",
        "null",
        "{'type': 'track', 'messageId': 'single-quotes'}",
        line("edge-no-type", type=None),
        line("edge-odd-type", type="purchase"),
        line("edge-upper-type", type=" Page "),
        line("", type="page"),
        line("   ", type="page"),
        line(None),
        line("edge-no-event", event=None),
        line("edge-blank-event", event="  "),
        line("edge-no-time", timestamp=None),
        line("edge-bad-time", timestamp="yesterday", originalTimestamp="n/a", receivedAt="now"),
        line("edge-offset", timestamp="2026-03-02T10:00:00+02:00"),
        line("edge-date-only", timestamp="2026-03-02"),
        line("edge-micros", timestamp="2026-03-02T09:00:00.123456Z"),
        line("edge-naive", timestamp="2026-03-02 09:30:00"),
        line("edge-skew", timestamp=None, originalTimestamp="2026-03-02T08:00:00Z",
             sentAt="2026-03-02T08:00:05Z", receivedAt="2026-03-02T08:00:02.5Z"),
        line("edge-received-only", timestamp=None, receivedAt="2026-03-02T07:00:00Z"),
        line("edge-garbage-falls-back", timestamp="not a time",
             originalTimestamp="2026-03-02T07:00:00Z"),
        line("edge-numeric-id", messageId=12345),
        '{"type": "page", "messageId": "edge-dup-key", "messageId": "edge-dup-key-2", '
        f'"timestamp": "{_iso(at)}", "anonymousId": "edge-anon"}}',
        line("edge-unicode", properties={"title": "caf\u00e9 \u2603 \U0001f600"}),
        b'{"type": "page", "messageId": "edge-latin1", "name": "caf\xe9", "timestamp": "'
        + _iso(at).encode() + b'"}',
        line("edge-ok"),  # a second copy in the same file: a duplicate
        line("edge-last"),
    ]


def write_fixture(raw: Path, tmp: Path) -> None:
    """The dump folders both engines load."""
    generate(raw, days=len(DAYS), customers=60, seed=7, start=START, malformed_rate=0.02)
    first, second, third = (d.isoformat() for d in DAYS)
    extra = raw / first / "extra" / "hand-made.jsonl"
    extra.parent.mkdir(parents=True, exist_ok=True)
    extra.write_text("".join(json.dumps(m) + "\n" for m in audience_messages(DAYS[-1])))
    edge = edge_case_lines(DAYS[0])
    (raw / first / "edge.jsonl").write_bytes(
        b"\r\n".join(x if isinstance(x, bytes) else x.encode() for x in edge)  # CRLF, no final EOL
    )
    # the same message on a later day: a duplicate there
    (raw / second / "late").mkdir(parents=True, exist_ok=True)
    (raw / second / "late" / "REPLAY.JSONL.GZ").write_bytes(
        gzip.compress((edge[0] + "\n" + edge[-1] + "\n").encode())
    )
    # a gzip cut in the middle of its 3rd line, an unreadable one, an empty file
    data = gzip.compress("".join(
        json.dumps(_msg("page", f"cut-{i}", dt.datetime.combine(DAYS[2], dt.time(8, i),
                                                                 tzinfo=dt.UTC),
                        anonymousId="cut-anon", name="Home", page={"path": "/"})) + "\n"
        for i in range(40)
    ).encode(), compresslevel=0)
    (raw / third / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    (raw / third / "broken.json.gz").write_bytes(b"not gzip at all")
    (raw / third / "empty.jsonl").write_bytes(b"")


# --- building ------------------------------------------------------------------------------


@contextmanager
def environment(**values: str) -> Iterator[None]:
    previous = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def dbt(args: Sequence[str], work_dir: Path, **env: str) -> Any:
    """One dbt command in this process; raises with the failing nodes."""
    from dbt.cli.main import dbtRunner

    with environment(**env):
        result = dbtRunner().invoke([
            *args,
            "--project-dir", str(REPO_ROOT), "--profiles-dir", str(REPO_ROOT),
            "--target-path", str(work_dir / "target"), "--log-path", str(work_dir / "logs"),
            "--quiet",
        ])
    if not result.success:
        failures = [
            f"{r.node.unique_id}: {r.status}: {r.message}"
            for r in (getattr(result.result, "results", None) or [])
            if str(r.status).lower() not in ("success", "pass", "warn", "skipped", "no-op")
        ]
        raise AssertionError(
            f"dbt {' '.join(args)} failed:\n" + ("\n".join(failures) or repr(result.exception))
        )
    return result


@dataclass
class Build:
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def build_duckdb(raw: Path, work: Path, dbt_args: Sequence[str]) -> tuple[Path, Build]:
    build = Build()
    work.mkdir(parents=True, exist_ok=True)
    warehouse = work / "warehouse.duckdb"
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as conn:
        for day in find_day_folders(raw):
            ingestion.load_day(conn, raw, day)
        privacy.ensure_privacy_schema(conn, SALT)
    build.seconds["load"] = time.perf_counter() - started
    started = time.perf_counter()
    dbt(dbt_args, work, CDP_DBT_TARGET="duckdb", CDP_WAREHOUSE=str(warehouse),
        CDP_PRIVACY_SALT=SALT)
    build.seconds["dbt"] = time.perf_counter() - started
    return warehouse, build


def resolver_is_python(work: Path) -> bool:
    """Whether identity resolution is still the Python model on the spark target (Python
    models do not run in dbt-spark's session mode)."""
    manifest = dbt(["parse"], work, CDP_DBT_TARGET="spark").result
    nodes = [n for n in manifest.nodes.values() if n.name == "int_identity__resolution"]
    return any(getattr(n, "language", "sql") == "python" and n.config.enabled for n in nodes)


def copy_table_to_spark(spark: Any, warehouse: Path, schema: str, table: str) -> None:
    """A DuckDB table as a Spark table of the same name and column types."""
    types = {"VARCHAR": "string", "TIMESTAMP": "timestamp", "BIGINT": "bigint",
             "INTEGER": "int", "DOUBLE": "double", "BOOLEAN": "boolean", "DATE": "date"}
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("set timezone = 'UTC'")
        columns = conn.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        rows = conn.execute(f"select * from {schema}.{table}").fetchall()
    ddl = ", ".join(f"`{name}` {types.get(kind, 'string')}" for name, kind in columns)
    spark.sql(f"create database if not exists {schema}")
    spark.createDataFrame(rows, ddl).write.mode("overwrite").saveAsTable(f"{schema}.{table}")


def build_spark(spark: Any, raw: Path, work: Path, duckdb_warehouse: Path,
                dbt_args: Sequence[str]) -> Build:
    build = Build()
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    spark_loader.load_days(spark, raw)
    spark_build.write_pseudonymisation_key(spark, SALT)
    build.seconds["load"] = time.perf_counter() - started
    args = list(dbt_args)
    if resolver_is_python(work):
        # Until the SQL resolver is the spark default: its result comes from the DuckDB build.
        copy_table_to_spark(spark, duckdb_warehouse, "intermediate", "int_identity__resolution")
        args += ["--exclude", "int_identity__resolution"]
        build.notes.append("identity resolution copied from DuckDB (Python model on spark)")
    started = time.perf_counter()
    dbt(args, work, CDP_DBT_TARGET="spark", CDP_PRIVACY_SALT=SALT)
    build.seconds["dbt"] = time.perf_counter() - started
    return build


# --- comparing -----------------------------------------------------------------------------


def _normal(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, dict):
        return tuple(sorted((k, _normal(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    return value


def _sort_key(row: tuple) -> tuple:
    return tuple(
        (0, "") if v is None else (1, f"{v:.6g}") if isinstance(v, float) else (1, repr(v))
        for v in row
    )


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    numbers = (int, float)
    if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return False


def duckdb_tables(warehouse: Path, schema: str) -> list[str]:
    with duckdb.connect(str(warehouse)) as conn:
        return [r[0] for r in conn.execute(
            "select table_name from information_schema.tables where table_schema = ? "
            "order by 1", [schema]).fetchall()]


def duckdb_rows(warehouse: Path, sql: str) -> tuple[list[str], list[tuple]]:
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("set timezone = 'UTC'")
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description]
        return columns, cursor.fetchall()


def spark_rows(spark: Any, sql: str) -> tuple[list[str], list[tuple]]:
    frame = spark.sql(sql)
    # timestamp_ntz: Python gets the UTC wall time, not a conversion to the local time zone
    casts = [
        f"cast(`{f.name}` as timestamp_ntz) as `{f.name}`"
        if f.dataType.simpleString() == "timestamp" else f"`{f.name}`"
        for f in frame.schema.fields
    ]
    frame = frame.selectExpr(*casts)
    return frame.columns, [tuple(r) for r in frame.collect()]


def compare(name: str, left: tuple[list[str], list[tuple]], right: tuple[list[str], list[tuple]],
            ignore: set[str] = frozenset()) -> list[str]:
    """Differences between two row sets (empty when they match)."""
    (lcols, lrows), (rcols, rrows) = left, right
    problems = []
    if set(lcols) != set(rcols):
        problems.append(f"{name}: columns differ: duckdb only {sorted(set(lcols) - set(rcols))}, "
                        f"spark only {sorted(set(rcols) - set(lcols))}")
    columns = [c for c in lcols if c in rcols and c not in ignore]
    li = [lcols.index(c) for c in columns]
    ri = [rcols.index(c) for c in columns]
    lrows = sorted((tuple(_normal(r[i]) for i in li) for r in lrows), key=_sort_key)
    rrows = sorted((tuple(_normal(r[i]) for i in ri) for r in rrows), key=_sort_key)
    if len(lrows) != len(rrows):
        problems.append(f"{name}: {len(lrows)} rows on duckdb, {len(rrows)} on spark")
    shown = 0
    for lrow, rrow in zip(lrows, rrows, strict=False):
        diffs = [(c, a, b) for c, a, b in zip(columns, lrow, rrow, strict=True) if not _same(a, b)]
        if diffs and shown < 5:
            shown += 1
            problems.append(f"{name}: row differs (duckdb, spark): {diffs}")
    return problems
