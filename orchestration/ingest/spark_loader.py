"""Load day folders of Segment-spec JSON-lines dumps into Apache Spark tables.

The Spark adapter of the raw-load contract (`orchestration.ingest.contract`, the rules the
DuckDB loader follows too): `raw.events`, `raw.quarantine` and `raw.load_log` are partitioned
by `received_date`, and reloading a day replaces its partitions.

Every day a run loads goes through one batch, so a run costs a fixed handful of Spark jobs plus
what its lines cost, however many days it holds: `spark_staging` reads the files of all the
days into lines in one job (each line keeps its physical line number and its day); the lines
are classified by the contract's query in Spark's SQL (`DIALECT`) and cached; `spark_copies`
ranks the copies of each message (the contract's COPY_ORDER, across the batch and the days
already loaded); then the days' partitions are dropped and each raw table gets one append for
all of them, and the line accounting per day is two grouped queries. Validity is judged with
`try_parse_json` (strict JSON: no single quotes, NaN or comments; wrapped so trailing text
after the value is refused as DuckDB refuses it) and the fields read with `get_json_object`.
Spark's JSON *file* reader (`spark.read.json`, PERMISSIVE mode with `_corrupt_record`) is not
used directly: it gives neither the line number nor the original text of a good line, and it
reads a top-level array as several records.

Not on Spark (yet): suppression of identifiers erased by `cdp forget` (the privacy workflow runs
on the DuckDB warehouse); `suppressed` is always 0 here.

The session, and the command that loads then runs `dbt build` in it, are in `spark_build`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.ingest import accounting, contract
from orchestration.ingest.accounting import LoadReport
from orchestration.ingest.contract import (
    DAY_COLUMN,
    EVENTS,
    MAX_LINE_BYTES,
    MESSAGE_COLUMNS,
    QUARANTINE_RAW_LINE_CHARS,
    RAW_TABLES,
    READ_REASONS,
    REASON_INVALID_ENCODING,
    REASON_LINE_TOO_LONG,
    SUPERSEDED,
    Column,
    Dialect,
    MessageField,
    RawTable,
    message_columns_sql,
    reason_branches,
)
from orchestration.ingest.folders import DayFolder, day_folder, plan_load
from orchestration.ingest.spark_copies import (
    RANKED_VIEW,
    batch_copies,
    dates,
    insert_load_log,
    move_other_days,
    partitions,
    rank_copies,
    table_columns,
)
from orchestration.ingest.spark_staging import LINES_VIEW, DumpFile, stage_lines

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_TYPES = {"text": "string", "int": "int", "bigint": "bigint", "double": "double",
          "date": "date", "timestamp": "timestamp"}


def _table_ddl(table: RawTable) -> str:
    """Partition column last, as Spark stores it; no defaults (a load writes every column)."""
    columns = sorted(table.columns, key=lambda c: c.name == DAY_COLUMN)
    body = ",\n        ".join(_column_ddl(c) for c in columns)
    return (f"create table if not exists {table.name} (\n        {body}\n    ) "
            f"using parquet partitioned by ({DAY_COLUMN})")


def _column_ddl(column: Column) -> str:
    return f"{column.name} {_TYPES[column.type]}" + ("" if column.nullable else " not null")


def ensure_raw_schema(spark: SparkSession) -> None:
    """Create the raw tables, add the columns older tables lack, and fill message columns
    just added from the payload of the rows already loaded (the loader's own parse, so they
    equal what a fresh load writes)."""
    spark.sql("create database if not exists raw")
    for table in RAW_TABLES:
        had = ({f.name for f in spark.table(table.name).schema.fields}
               if spark.catalog.tableExists(table.name) else set())
        spark.sql(_table_ddl(table))
        missing = [c for c in table.columns if had and c.name not in had]
        if missing:  # a column added to an existing table cannot be not null
            spark.sql(f"alter table {table.name} add columns "
                      f"({', '.join(f'{c.name} {_TYPES[c.type]}' for c in missing)})")
        added = {c.name for c in missing}
        fields = [f for f in MESSAGE_COLUMNS if f.column in added]
        if table in (EVENTS, SUPERSEDED) and fields:
            _fill_message_columns(spark, table, fields)


def _fill_message_columns(spark: SparkSession, table: RawTable,
                          fields: list[MessageField]) -> None:
    """Rewrite `table` with `fields` parsed from the payload (every partition it holds)."""
    names = {f.column for f in fields}
    keep = ", ".join(c.name for c in table.columns if c.name not in names)
    previous = spark.conf.get("spark.sql.sources.partitionOverwriteMode")
    # dynamic: the partitions written replace their old selves, and a table may be read by
    # the statement that overwrites it
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    try:
        spark.sql(f"""
            insert overwrite table {table.name} partition ({DAY_COLUMN})
            select {table_columns(spark, table.name)}
            from ({message_columns_sql(DIALECT, table.name, "payload", keep, fields)}) as e
        """)
    finally:
        spark.conf.set("spark.sql.sources.partitionOverwriteMode", previous)


def loaded_fingerprints(spark: SparkSession) -> dict[str, str | None]:
    """Each loaded day's folder fingerprint (raw.load_log); empty before the first load."""
    if not spark.catalog.tableExists("raw.load_log"):
        return {}
    return {
        row[0]: row[1]
        for row in spark.sql(
            "select cast(received_date as string), fingerprint from raw.load_log"
        ).collect()
    }


# --- classifying -----------------------------------------------------------------------------


def _to_utc(expr: str) -> str:
    # Offsets are honoured; a time without an offset is UTC (the session time zone). Only text
    # that starts like a date is cast: Spark also casts 'now', 'today', 'yesterday', 'epoch'.
    text = f"trim({expr})"
    return f"case when {text} rlike '^[0-9]{{4}}-' then try_cast({text} as timestamp) end"


def _is_json(line: str) -> str:
    # try_parse_json is strict JSON but reads the first value and ignores what follows it;
    # inside [...] and {"v": ...} trailing text makes one of the two wrappers invalid (or the
    # array longer than one element), as it makes DuckDB's json_valid false.
    return f"""(
        try_parse_json({line}) is not null
        and try_parse_json(concat('{{"v":', {line}, '}}')) is not null
        and coalesce(json_array_length(concat('[', {line}, ']')) = 1, false)
    )"""


def _json_trimmed(line: str) -> str:
    return rf"regexp_replace({line}, '^[ \\t\\r\\n]+|[ \\t\\r\\n]+$', '')"


def _extract(line: str, paths: list[str]) -> str:
    # get_json_object, like DuckDB's json_extract_string, reads the first of duplicate keys
    return ", ".join(
        f"case when is_object then get_json_object({line}, '{path}') end as f_{i}"
        for i, path in enumerate(paths)
    )


# Spark's text source reads every byte: the read faults are found in SQL.
_READ_FAULTS = {
    REASON_INVALID_ENCODING: "not is_valid_utf8(line)",
    REASON_LINE_TOO_LONG: f"octet_length(line) > {MAX_LINE_BYTES}",
}

DIALECT = Dialect(
    read_reason=(
        "case when stage_reason is not null then stage_reason "
        f"{reason_branches(_READ_FAULTS, READ_REASONS)} end"
    ),
    is_json=_is_json,
    is_object=lambda line: f"left({_json_trimmed(line)}, 1) = '{{'",
    is_blank=lambda line: f"{line} is null or {_json_trimmed(line)} = ''",
    extract=_extract,
    field=lambda i: f"f_{i}",
    # get_json_object gives a sub-document as its JSON text
    extract_docs=lambda line, paths: ", ".join(
        f"case when is_object then get_json_object({line}, '{path}') end as d_{i}"
        for i, path in enumerate(paths)
    ),
    doc_field=lambda i: f"d_{i}",
    to_utc=_to_utc,
    skew_corrected=lambda original, sent, received: (
        f"timestamp_micros(unix_micros({original}) "
        f"+ coalesce(unix_micros({received}) - unix_micros({sent}), 0))"
    ),
)


# --- loading days ----------------------------------------------------------------------------


def load_days(
    spark: SparkSession, raw_dir: Path, days: list[str] | None = None, *, only_changed: bool = False
) -> list[LoadReport]:
    """Load the given days (default: every day folder; only new or changed ones if asked) in
    one batch; a day whose line accounting does not add up stops the run
    (`LineAccountingError`)."""
    raw_dir = Path(raw_dir)
    ensure_raw_schema(spark)
    plan = plan_load(raw_dir, days, loaded_fingerprints(spark) if only_changed else None)
    reports = load_folders(spark, [day_folder(raw_dir, day) for day in plan.load])
    for report in reports:
        report.check_accounted()
    return reports


def load_day(spark: SparkSession, raw_dir: Path, received_date: dt.date | str) -> LoadReport:
    """Replace one received day in `raw.events` and `raw.quarantine`; return its report."""
    ensure_raw_schema(spark)
    return load_folders(spark, [day_folder(raw_dir, received_date)])[0]


def load_folders(spark: SparkSession, folders: list[DayFolder]) -> list[LoadReport]:
    """Replace the days of `folders` in the raw tables with one read, one classification and
    one write per table for all of them; return one report per folder, in order.

    The day's seconds in raw.load_log are its share, by lines, of the batch's wall time (the
    days are read and written together, so no day has a time of its own).
    """
    started = time.perf_counter()
    reports = [folder.new_report() for folder in folders]
    present = [f for f in folders if f.exists]
    if not present:
        return reports
    files = [DumpFile(path, display, folder.received_date)
             for folder in present for path, display in folder.displays.items()]
    days = [folder.received_date for folder in present]
    with tempfile.TemporaryDirectory(prefix="cdp-spark-load-") as tmp:
        classified = stage_lines(spark, files, Path(tmp), lambda lines: _classify(spark, lines))
        try:
            rank_copies(spark, days)
            _replace_days(spark, days)
            move_other_days(spark)
            _take_counts(spark, {r.received_date: r for r in reports if not r.folder_missing})
        finally:
            classified.unpersist()
            for view in (LINES_VIEW, "cdp_classified", RANKED_VIEW):
                spark.catalog.dropTempView(view)
    loaded = [(r, f) for r, f in zip(reports, folders, strict=True) if not r.folder_missing]
    _share_seconds([r for r, _ in loaded], time.perf_counter() - started)
    insert_load_log(spark, [r.load_log_row(f.fingerprint) for r, f in loaded])
    return reports


def _classify(spark: SparkSession, lines: DataFrame) -> DataFrame:
    """`cdp_classified`: the contract's classification of every staged line, cached (the
    count reads every file now, so an unreadable one fails here)."""
    lines.createOrReplaceTempView(LINES_VIEW)
    classified = spark.sql(contract.classification_sql(DIALECT, None)).persist()
    try:
        classified.count()
    except BaseException:
        classified.unpersist()
        raise
    classified.createOrReplaceTempView("cdp_classified")
    return classified


_NEW_EVENT_COLUMNS = (
    "message_id, type, event_at, received_date, source_file, line_number, line as payload"
)


def _replace_days(spark: SparkSession, days: list[dt.date]) -> None:
    """Drop the days from the raw tables, then append their new rows: each message's winning
    copy to raw.events, the days' other best copies to raw.superseded (`cdp_ranked`).

    raw.load_log goes first: should a step fail, the days count as not loaded and the next
    run loads them again.
    """
    for table in ("raw.load_log", "raw.events", "raw.superseded", "raw.quarantine"):
        spark.sql(f"alter table {table} drop if exists {partitions(days)}")
    for table, wins in (("raw.events", True), ("raw.superseded", False)):
        parsed = message_columns_sql(DIALECT, batch_copies(wins), "line", _NEW_EVENT_COLUMNS)
        spark.sql(f"""
            insert into {table} partition ({DAY_COLUMN})
            select {table_columns(spark, table)} from ({parsed}) as copies
        """)
    spark.sql(f"""
        insert into raw.quarantine partition ({DAY_COLUMN})
        select source_file, line_number, reason,
               left(make_valid_utf8(nullif(line, '')), {QUARANTINE_RAW_LINE_CHARS}) as raw_line,
               received_date
        from cdp_classified
        where reason is not null
    """)


def _take_counts(spark: SparkSession, reports: dict[dt.date, LoadReport]) -> None:
    """Fill each day's line accounting from the classified lines and the rows written."""
    loaded = dict(spark.sql(
        f"select {DAY_COLUMN}, count(*) from raw.events "
        f"where {DAY_COLUMN} in ({dates(list(reports))}) group by 1"
    ).collect())
    counts = {row[0]: row[1:] for row in spark.sql(
        accounting.line_counts_sql(is_suppressed="false", by_day=True)).collect()}
    by_reason: dict[dt.date, list] = {}
    for day, reason, lines in spark.sql(
            accounting.by_reason_sql(is_suppressed="false", by_day=True)).collect():
        by_reason.setdefault(day, []).append((reason, lines))
    for day, report in reports.items():
        report.take_counts(counts.get(day, (0, 0, 0, 0, 0)), int(loaded.get(day, 0)),
                           by_reason.get(day, []))


def _share_seconds(reports: list[LoadReport], seconds: float) -> None:
    lines = sum(r.lines for r in reports)
    for report in reports:
        share = report.lines / lines if lines else 1 / len(reports)
        report.seconds = round(seconds * share, 3)
