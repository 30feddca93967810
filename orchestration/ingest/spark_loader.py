"""Load day folders of Segment-spec JSON-lines dumps into Apache Spark tables.

The Spark adapter of the raw-load contract (`orchestration.ingest.contract`, the rules the
DuckDB loader follows too): `raw.events`, `raw.quarantine` and `raw.load_log` are partitioned
by `received_date`, and reloading a day replaces its partitions (`insert overwrite`).

How lines are read: Spark's text source splits every dump file of the day into physical lines
in one job (gzip by suffix, as Spark does), keeping the raw bytes, so invalid UTF-8 is detected
(`is_valid_utf8`) rather than silently replaced, and each line gets its physical line number
(file block, then position). The lines are then classified by the contract's query in Spark's
SQL (`DIALECT`): validity with `try_parse_json` (strict JSON: no single quotes, NaN or
comments; wrapped so trailing text after the value is refused as DuckDB refuses it) and the
fields with `get_json_object`. Spark's JSON *file* reader (`spark.read.json`, PERMISSIVE mode
with `_corrupt_record`) is not used directly: it gives neither the line number nor the
original text of a good line, and it reads a top-level array as several records. A file Spark
cannot read to the end (a truncated or corrupt gzip) is salvaged as on DuckDB
(`gzip_recovery`): the lines before the cut are loaded and the cut is quarantined.

Not on Spark (yet): suppression of identifiers erased by `cdp forget` (the privacy workflow runs
on the DuckDB warehouse); `suppressed` is always 0 here.

The session, and the command that loads then runs `dbt build` in it, are in `spark_build`.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration.ingest import contract
from orchestration.ingest.contract import (
    DAY_COLUMN,
    MAX_LINE_BYTES,
    QUARANTINE_RAW_LINE_CHARS,
    RAW_TABLES,
    READ_REASONS,
    REASON_INVALID_ENCODING,
    REASON_LINE_TOO_LONG,
    Column,
    Dialect,
    LoadReport,
    RawTable,
    reason_branches,
)
from orchestration.ingest.folders import DayFolder, day_folder, plan_load
from orchestration.ingest.gzip_recovery import StagedLine, salvage

if TYPE_CHECKING:
    import datetime as dt

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
    spark.sql("create database if not exists raw")
    for table in RAW_TABLES:
        spark.sql(_table_ddl(table))


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


# --- reading lines ---------------------------------------------------------------------------


def _link_name(index: int, path: Path) -> str:
    # Spark picks the codec by suffix and is case-sensitive; DuckDB is not (UPPER.JSONL.GZ).
    return f"{index:06d}" + (".jsonl.gz" if path.name.lower().endswith(".gz") else ".jsonl")


def _read_lines(spark: SparkSession, paths: list[Path]) -> DataFrame:
    """(file_index, line_number, line) for every physical line of the files.

    The files are symlinks named by their index (see `_link_name`), so the index comes back
    from the file name. Line numbers: a line belongs to the file block it starts in, and
    monotonically_increasing_id follows the order of the lines within a block.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    frame = spark.read.text([p.as_uri() for p in paths]).select(
        F.col("value").alias("line"),
        F.regexp_extract(F.col("_metadata.file_name"), r"^([0-9]+)\.", 1)
        .cast("int")
        .alias("file_index"),
        F.col("_metadata.file_block_start").alias("block_start"),
        F.monotonically_increasing_id().alias("position"),
    )
    order = Window.partitionBy("file_index").orderBy("block_start", "position")
    return frame.select(
        "file_index", F.row_number().over(order).cast("bigint").alias("line_number"), "line"
    )


def _stage_day(
    spark: SparkSession, files: list[Path], displays: list[str], tmp: Path
) -> tuple[DataFrame | None, list[StagedLine]]:
    """Read every file of the day; return the lines and the extra rows (source_file,
    line_number, line, stage_reason) for files Spark could not read to the end."""
    from py4j.protocol import Py4JJavaError
    from pyspark.sql.utils import CapturedException

    links_dir = tmp / "links"
    links_dir.mkdir()
    links = []
    for index, path in enumerate(files):
        link = links_dir / _link_name(index, path)
        link.symlink_to(path.resolve())
        links.append(link)
    extra: list[StagedLine] = []
    if not links:
        return None, extra

    def cached(frame: DataFrame) -> DataFrame:
        frame = frame.persist()
        frame.count()  # reads every file now, so an unreadable one fails here
        return frame

    # A file Spark cannot read fails the whole read, and the error names it: recover that
    # file (or count it unreadable) and read the others again. Should the error name no file,
    # every file is tried on its own.
    pending = dict(enumerate(links))
    plain: list[Path] = []
    while pending or plain:
        try:
            return cached(_read_lines(spark, list(pending.values()) + plain)), extra
        except (CapturedException, Py4JJavaError) as exc:
            error = exc
        named = {int(i) for i in re.findall(r"links/([0-9]{6})\.", _error_text(error))}
        bad = [i for i in pending if i in named] or [
            i for i in pending if not _readable(spark, pending[i])
        ]
        if not bad:
            raise error
        for index in bad:
            del pending[index]
            recovered = _salvage(files[index], displays[index], index, links_dir, tmp, error, extra)
            if recovered is not None:
                plain.append(recovered)
    return None, extra


def _readable(spark: SparkSession, link: Path) -> bool:
    from py4j.protocol import Py4JJavaError
    from pyspark.sql.utils import CapturedException

    try:
        _read_lines(spark, [link]).count()
    except (CapturedException, Py4JJavaError):
        return False
    return True


def _salvage(path: Path, display: str, index: int, links_dir: Path, tmp: Path,
             error: BaseException, extra: list[StagedLine]) -> Path | None:
    """What can be read of a file Spark could not read: its rejected line goes to `extra`,
    the lines before a gzip cut come back as a plain file to read."""
    saved = salvage(path, display, _first_line(error), tmp)
    extra.append(saved.rejected)
    if saved.readable is None:
        return None
    plain = links_dir / f"{index:06d}.recovered.jsonl"
    shutil.move(saved.readable, plain)
    return plain


def _error_text(exc: BaseException) -> str:
    return str(getattr(exc, "java_exception", None) or exc) + "\n" + str(exc)


def _first_line(exc: BaseException) -> str:
    """The root cause of a failed read, e.g. `java.util.zip.ZipException: Not in GZIP format`."""
    text = _error_text(exc)
    causes = re.findall(r"^(?:Caused by: )?([\w.$]+(?:Exception|Error): .*)$", text, re.M)
    text = (causes[-1] if causes else text).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


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


# --- loading a day ---------------------------------------------------------------------------


def load_day(spark: SparkSession, raw_dir: Path, received_date: dt.date | str) -> LoadReport:
    """Replace one received day in `raw.events` and `raw.quarantine`; return its report."""
    started = time.perf_counter()
    folder = day_folder(raw_dir, received_date)
    report = folder.new_report()
    ensure_raw_schema(spark)
    if report.folder_missing:
        return report
    with tempfile.TemporaryDirectory(prefix="cdp-spark-load-") as tmp:
        lines = _stage_lines(spark, folder, Path(tmp))
        classified = spark.sql(contract.classification_sql(DIALECT, folder.received_date)).persist()
        classified.createOrReplaceTempView("cdp_classified")
        try:
            _replace_day(spark, report)
        finally:
            classified.unpersist()
            if lines is not None:
                lines.unpersist()
            spark.catalog.dropTempView("cdp_lines")
            spark.catalog.dropTempView("cdp_classified")
    report.seconds = round(time.perf_counter() - started, 3)
    _write_load_log(spark, report, folder.fingerprint)
    return report


def _stage_lines(spark: SparkSession, folder: DayFolder, tmp: Path) -> DataFrame | None:
    """Temp view `cdp_lines` (source_file, line_number, line, stage_reason) of the day's
    non-empty files; returns the cached lines read (None when no file was readable)."""
    from pyspark.sql import Row
    from pyspark.sql import functions as F

    displays = list(folder.displays.values())
    lines, extra = _stage_day(spark, list(folder.displays), displays, tmp)
    names = spark.createDataFrame(
        [Row(file_index=i, source_file=d) for i, d in enumerate(displays)],
        "file_index int, source_file string",
    )
    staged = spark.createDataFrame(
        extra, "source_file string, line_number bigint, line string, stage_reason string"
    )
    if lines is not None:
        staged = lines.join(F.broadcast(names), "file_index").select(
            "source_file", "line_number", "line",
            F.lit(None).cast("string").alias("stage_reason"),
        ).unionByName(staged)
    staged.createOrReplaceTempView("cdp_lines")
    return lines


def _write_load_log(spark: SparkSession, report: LoadReport, fingerprint: str) -> None:
    row = report.load_log_row(fingerprint)
    day = row.pop(DAY_COLUMN).isoformat()
    values = [
        f"cast({value} as double)" if name == "seconds"
        else f"'{value}'" if isinstance(value, str) else str(value)
        for name, value in row.items()
    ]
    spark.sql(
        f"""
        insert overwrite table raw.load_log partition ({DAY_COLUMN} = date '{day}')
        select current_timestamp(), {", ".join(values)}
        """
    )


def _replace_day(spark: SparkSession, report: LoadReport) -> None:
    """Overwrite the day's partitions; fill in the line accounting."""
    day = report.received_date.isoformat()
    # The day's new rows are written to work tables first: raw.events is read (for messages
    # loaded on other days) by the query that would overwrite one of its partitions.
    spark.sql("drop table if exists raw.cdp_load_events")
    spark.sql(f"""
        create table raw.cdp_load_events using parquet as
        with valid as (
            select c.*,
                   row_number() over (
                       partition by message_id order by source_file, line_number
                   ) as copy_number
            from cdp_classified c
            where reason is null
        ),
        other_days as (
            select distinct message_id from raw.events where received_date <> date '{day}'
        )
        select v.message_id, v.type, v.event_at, v.source_file, v.line_number,
               v.line as payload, {", ".join(f"v.{f.column}" for f in contract.MESSAGE_COLUMNS)}
        from valid v
        left anti join other_days o on o.message_id = v.message_id
        where v.copy_number = 1
    """)
    try:
        spark.sql(f"""
            insert overwrite table raw.events partition (received_date = date '{day}')
            select {", ".join(c.name for c in contract.EVENTS.columns if c.name != DAY_COLUMN)}
            from raw.cdp_load_events
            order by event_at, message_id
        """)
    finally:
        spark.sql("drop table if exists raw.cdp_load_events")
    spark.sql(f"""
        insert overwrite table raw.quarantine partition (received_date = date '{day}')
        select source_file, line_number, reason,
               left(make_valid_utf8(nullif(line, '')), {QUARANTINE_RAW_LINE_CHARS}) as raw_line
        from cdp_classified
        where reason is not null
        order by source_file, line_number
    """)
    loaded = spark.sql(
        f"select count(*) from raw.events where received_date = date '{day}'"
    ).collect()[0][0]
    report.take_counts(
        spark.sql(contract.line_counts_sql(is_suppressed="false")).collect()[0],
        int(loaded),
        spark.sql(contract.by_reason_sql(is_suppressed="false")).collect(),
    )


def load_days(
    spark: SparkSession, raw_dir: Path, days: list[str] | None = None, *, only_changed: bool = False
) -> list[LoadReport]:
    """Load the given days (default: every day folder; only new or changed ones if asked);
    a day whose line accounting does not add up stops the run (`LineAccountingError`)."""
    raw_dir = Path(raw_dir)
    ensure_raw_schema(spark)
    plan = plan_load(raw_dir, days, loaded_fingerprints(spark) if only_changed else None)
    reports = []
    for day in plan.load:
        reports.append(load_day(spark, raw_dir, day))
        reports[-1].check_accounted()
    return reports
