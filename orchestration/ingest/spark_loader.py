"""Load day folders of Segment-spec JSON-lines dumps into Apache Spark tables.

The Spark twin of `orchestration.ingest.duckdb_loader` (the DuckDB loader), with the same contract:

* `raw.events`      one row per distinct `messageId` (message_id, type, event_at, received_date,
                    source_file, line_number, payload), partitioned by `received_date`;
* `raw.quarantine`  every rejected line (source_file, line_number, received_date, reason,
                    raw_line) with the reasons of `orchestration.ingest.duckdb_loader` (REASON_*);
* `raw.load_log`    one row per loaded day: lines, loaded, duplicates, suppressed, quarantined,
                    the folder fingerprint and `loaded_at` (the incremental models' watermark).

Every input line ends in exactly one place, with the DuckDB loader's rules: within a day the
first copy of a messageId by (source_file, line_number) wins, a messageId already loaded on
another day is a duplicate, and reloading a day replaces its partitions (`insert overwrite`).

How lines are read: Spark's text source splits every dump file of the day into physical lines
in one job (gzip by suffix, as Spark does), keeping the raw bytes, so invalid UTF-8 is detected
(`is_valid_utf8`) rather than silently replaced, and each line gets its physical line number
(file block, then position). The lines are then parsed with Spark's JSON parser: validity with
`try_parse_json` (strict JSON: no single quotes, NaN or comments; wrapped so trailing text after
the value is refused as DuckDB refuses it) and the fields with `json_tuple`, in one pass.
Spark's JSON *file* reader (`spark.read.json`, PERMISSIVE mode with `_corrupt_record`) is not
used directly: it gives neither the line number nor the original text of a good line, and it
reads a top-level array as several records. A file Spark cannot read to the end (a truncated or
corrupt gzip) is recovered with the DuckDB loader's own code (`ingestion._recover_gzip`): the
lines before the cut are loaded and the cut is quarantined as `truncated gzip`.

Not on Spark (yet): suppression of identifiers erased by `cdp forget` (the privacy workflow runs
on the DuckDB warehouse); `suppressed` is always 0 here.

The SparkSession is the one dbt-spark's `session` method uses (`getOrCreate` with Hive support
and the settings of the `spark` target in profiles.yml, see `session_conf`), so loading and
`dbt build` share one JVM when they run in one process (`python -m orchestration.ingest.spark_loader`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from orchestration import settings
from orchestration.ingest import duckdb_loader as ingestion
from orchestration.ingest.duckdb_loader import (
    MAX_LINE_BYTES,
    QUARANTINE_RAW_LINE_CHARS,
    REASON_BLANK,
    REASON_INVALID_ENCODING,
    REASON_INVALID_JSON,
    REASON_LINE_TOO_LONG,
    REASON_NOT_OBJECT,
    REASON_TRUNCATED_GZIP,
    REASON_UNREADABLE_FILE,
    LoadReport,
    find_day_folders,
    find_dump_files,
    folder_fingerprint,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RAW_DDL = [
    "create database if not exists raw",
    """
    create table if not exists raw.events (
        message_id    string not null,
        type          string not null,
        event_at      timestamp not null,
        source_file   string not null,
        line_number   bigint not null,
        payload       string not null,
        received_date date not null
    ) using parquet partitioned by (received_date)
    """,
    """
    create table if not exists raw.quarantine (
        source_file   string not null,
        line_number   bigint,
        reason        string not null,
        raw_line      string,
        received_date date not null
    ) using parquet partitioned by (received_date)
    """,
    """
    create table if not exists raw.load_log (
        loaded_at        timestamp not null,
        files            int not null,
        empty_files      int not null,
        lines            bigint not null,
        loaded           bigint not null,
        duplicates       bigint not null,
        quarantined      bigint not null,
        unreadable_files int not null,
        seconds          double not null,
        suppressed       bigint not null,
        fingerprint      string,
        received_date    date not null
    ) using parquet partitioned by (received_date)
    """,
]


# --- the session -------------------------------------------------------------------------


def session_conf() -> dict[str, str]:
    """The settings of the local session: the `server_side_parameters` of the `spark` target
    in profiles.yml (keep the two in step)."""
    base = settings.spark_dir()
    return {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.warehouse.dir": f"{base}/warehouse",
        "spark.hadoop.javax.jdo.option.ConnectionURL":
            f"jdbc:derby:;databaseName={base}/metastore_db;create=true",
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={base}",
        "spark.sql.shuffle.partitions": settings.spark_shuffle_partitions(),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }


def spark_session() -> SparkSession:
    """The process's SparkSession (created on first use), as dbt-spark's session method gets
    it: `SparkSession.builder.enableHiveSupport()` with the profile's settings."""
    from pyspark.sql import SparkSession

    Path(settings.spark_dir()).mkdir(parents=True, exist_ok=True)
    settings.spark_workers_use_this_python()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_conf().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(settings.spark_log_level())
    # Duplicate keys are valid JSON (DuckDB accepts them; the first value is read).
    spark.conf.set("spark.sql.variant.allowDuplicateKeys", "true")
    return spark


def ensure_raw_schema(spark: SparkSession) -> None:
    for statement in RAW_DDL:
        spark.sql(statement)


def _table_exists(spark: SparkSession, name: str) -> bool:
    return bool(spark.catalog.tableExists(name))


# --- which days ----------------------------------------------------------------------------


def changed_days(spark: SparkSession, raw_dir: Path) -> list[str]:
    """Day folders not loaded yet, or whose files changed since they were loaded."""
    days = find_day_folders(raw_dir)
    if not _table_exists(spark, "raw.load_log"):
        return days
    loaded = {
        row[0]: row[1]
        for row in spark.sql(
            "select cast(received_date as string), fingerprint from raw.load_log"
        ).collect()
    }
    return [day for day in days if loaded.get(day) != folder_fingerprint(raw_dir / day)]


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
) -> tuple[DataFrame, list[tuple]]:
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
    extra: list[tuple] = []
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
            recovered = _recover(files[index], displays[index], index, links_dir, tmp, error, extra)
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


def _recover(path: Path, display: str, index: int, links_dir: Path, tmp: Path,
             error: BaseException, extra: list[tuple]) -> Path | None:
    """What can be read of a file Spark could not read: the lines before a gzip cut (returned
    as a plain file to read) plus a `truncated gzip` row, else one `unreadable file` row."""
    recovery = None
    if path.name.lower().endswith(".gz") and ingestion._is_gzip(path):
        recovery = ingestion._recover_gzip(path, tmp)
    if recovery is None:
        extra.append((display, None, _first_line(error), REASON_UNREADABLE_FILE))
        return None
    recovered, complete_lines, tail = recovery
    extra.append((display, complete_lines + 1, tail[:QUARANTINE_RAW_LINE_CHARS],
                  REASON_TRUNCATED_GZIP))
    if not recovered.stat().st_size:
        return None
    plain = links_dir / f"{index:06d}.recovered.jsonl"
    shutil.move(recovered, plain)
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


def _classification_sql(received_date: dt.date) -> str:
    blank = r"regexp_replace(line, '^[ \\t\\r\\n]+|[ \\t\\r\\n]+$', '')"
    return f"""
    with fields as (
        select
            source_file, line_number, line, stage_reason,
            case
                when stage_reason is not null then stage_reason
                when not is_valid_utf8(line) then '{REASON_INVALID_ENCODING}'
                when octet_length(line) > {MAX_LINE_BYTES} then '{REASON_LINE_TOO_LONG}'
            end as read_reason
        from cdp_lines
    ),
    checked as (
        select *,
            case when read_reason is null and line is not null and {blank} <> ''
                 then {_is_json('line')} end as is_json
        from fields
    ),
    extracted as (
        select c.*,
            case when is_json then left({blank}, 1) = '{{' end as is_object
        from checked c
    ),
    parsed as (
        -- get_json_object, like DuckDB's json_extract_string, reads the first of duplicate keys
        select e.*,
            case when is_object then get_json_object(line, '$.type') end as f_type,
            case when is_object then get_json_object(line, '$.messageId') end as f_message_id,
            case when is_object then get_json_object(line, '$.event') end as f_event,
            case when is_object then get_json_object(line, '$.timestamp') end as f_timestamp,
            case when is_object then get_json_object(line, '$.originalTimestamp') end as f_original,
            case when is_object then get_json_object(line, '$.sentAt') end as f_sent,
            case when is_object then get_json_object(line, '$.receivedAt') end as f_received
        from extracted e
    ),
    typed as (
        select
            source_file, line_number, line, read_reason, is_json, is_object,
            lower(trim(f_type)) as type,
            nullif(trim(f_message_id), '') as message_id,
            nullif(trim(f_event), '') as event_name,
            {_to_utc('f_timestamp')} as ts,
            {_to_utc('f_original')} as original_ts,
            {_to_utc('f_sent')} as sent_at,
            {_to_utc('f_received')} as received_at
        from parsed
    )
    select
        source_file, line_number, line, message_id, type,
        coalesce(
            ts,
            timestamp_micros(unix_micros(original_ts)
                + coalesce(unix_micros(received_at) - unix_micros(sent_at), 0)),
            received_at
        ) as event_at,
        case
            when read_reason is not null then read_reason
            when line is null or {blank} = '' then '{REASON_BLANK}'
            when not is_json then '{REASON_INVALID_JSON}'
            when not is_object then '{REASON_NOT_OBJECT}'
            {ingestion.message_reason_cases()}
        end as reason,
        date '{received_date.isoformat()}' as received_date
    from typed
    """


# --- loading a day ---------------------------------------------------------------------------


def load_day(spark: SparkSession, raw_dir: Path, received_date: dt.date | str) -> LoadReport:
    """Replace one received day in `raw.events` and `raw.quarantine`; return its report."""
    from pyspark.sql import Row
    from pyspark.sql import functions as F

    started = time.perf_counter()
    if isinstance(received_date, str):
        received_date = dt.date.fromisoformat(received_date)
    raw_dir = Path(raw_dir)
    day = received_date.isoformat()
    day_dir = raw_dir / day
    report = LoadReport(received_date=received_date, folder_missing=not day_dir.is_dir())
    ensure_raw_schema(spark)
    if report.folder_missing:
        return report

    fingerprint = folder_fingerprint(day_dir)
    files = find_dump_files(day_dir)
    report.files = len(files)
    nonempty = [p for p in files if p.stat().st_size > 0]
    report.empty_files = len(files) - len(nonempty)
    displays = [p.relative_to(raw_dir).as_posix() for p in nonempty]

    line_schema = "source_file string, line_number bigint, line string, stage_reason string"
    with tempfile.TemporaryDirectory(prefix="cdp-spark-load-") as tmp:
        lines, extra = _stage_day(spark, nonempty, displays, Path(tmp))
        names = spark.createDataFrame(
            [Row(file_index=i, source_file=d) for i, d in enumerate(displays)],
            "file_index int, source_file string",
        )
        staged = spark.createDataFrame(extra, line_schema)
        if lines is not None:
            staged = lines.join(F.broadcast(names), "file_index").select(
                "source_file", "line_number", "line",
                F.lit(None).cast("string").alias("stage_reason"),
            ).unionByName(staged)
        staged.createOrReplaceTempView("cdp_lines")
        classified = spark.sql(_classification_sql(received_date)).persist()
        classified.createOrReplaceTempView("cdp_classified")
        try:
            counts = _replace_day(spark, day)
        finally:
            classified.unpersist()
            if lines is not None:
                lines.unpersist()
            spark.catalog.dropTempView("cdp_lines")
            spark.catalog.dropTempView("cdp_classified")

    report.take_counts(counts)
    report.seconds = round(time.perf_counter() - started, 3)
    spark.sql(
        f"""
        insert overwrite table raw.load_log partition (received_date = date '{day}')
        select current_timestamp(), {report.files}, {report.empty_files}, {report.lines},
               {report.loaded}, {report.duplicates}, {report.quarantined},
               {report.unreadable_files}, cast({report.seconds} as double),
               {report.suppressed}, '{fingerprint}'
        """
    )
    return report


def _replace_day(spark: SparkSession, day: str) -> dict:
    """Overwrite the day's partitions; return the line accounting."""
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
               v.line as payload
        from valid v
        left anti join other_days o on o.message_id = v.message_id
        where v.copy_number = 1
    """)
    try:
        spark.sql(f"""
            insert overwrite table raw.events partition (received_date = date '{day}')
            select message_id, type, event_at, source_file, line_number, payload
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
    lines, valid, quarantined, unreadable = spark.sql("""
        select count_if(line_number is not null or reason is null),
               count_if(reason is null),
               count_if(reason is not null),
               count_if(line_number is null and reason is not null)
        from cdp_classified
    """).collect()[0]
    loaded = spark.sql(
        f"select count(*) from raw.events where received_date = date '{day}'"
    ).collect()[0][0]
    by_reason = {
        str(reason): int(n)
        for reason, n in spark.sql(f"""
            select reason, count(*) from raw.quarantine where received_date = date '{day}'
            group by 1 order by 2 desc, 1
        """).collect()
    }
    return {
        "lines": int(lines),
        "loaded": int(loaded),
        "duplicates": int(valid) - int(loaded),
        "quarantined": int(quarantined) - int(unreadable),
        "unreadable_files": int(unreadable),
        "by_reason": by_reason,
    }


def load_days(
    spark: SparkSession, raw_dir: Path, days: list[str] | None = None, *, only_changed: bool = False
) -> list[LoadReport]:
    """Load the given days (default: every day folder; only new or changed ones if asked)."""
    raw_dir = Path(raw_dir)
    ensure_raw_schema(spark)
    if days is None:
        days = changed_days(spark, raw_dir) if only_changed else find_day_folders(raw_dir)
    return [load_day(spark, raw_dir, day) for day in days]


# --- privacy key -----------------------------------------------------------------------------


def write_pseudonymisation_key(spark: SparkSession, salt: str | None = None) -> None:
    """privacy.pseudonymisation_key (one row) for marts.customer_360_pseudonymised, derived
    from the privacy salt as on DuckDB (orchestration.privacy)."""
    from orchestration import privacy

    key = privacy.pseudonymisation_key(salt if salt is not None else privacy.load_salt())
    spark.sql("create database if not exists privacy")
    spark.sql("create table if not exists privacy.pseudonymisation_key (key string) using parquet")
    spark.sql(f"insert overwrite table privacy.pseudonymisation_key values ('{key}')")


# --- load, then dbt, in one process ------------------------------------------------------------


def run_dbt(args: list[str]) -> bool:
    """`dbt <args>` on the `spark` target, in this process (so it reuses this SparkSession)."""
    from dbt.cli.main import dbtRunner

    settings.point_dbt_at_spark()
    result = dbtRunner().invoke([
        *args, "--project-dir", str(settings.REPO_ROOT), "--profiles-dir", str(settings.REPO_ROOT),
    ])
    return bool(result.success)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m orchestration.ingest.spark_loader",
        description="Load the dump folders into Spark (raw.events, raw.quarantine, "
        "raw.load_log), then run `dbt build` on the spark target in the same session.",
    )
    parser.add_argument("--raw-dir", type=Path, default=None, help="default: CDP_RAW_DIR")
    parser.add_argument("--all-days", action="store_true",
                        help="reload every day folder (default: only new or changed ones)")
    parser.add_argument("--no-build", action="store_true", help="load only")
    parser.add_argument("--full-refresh", action="store_true", help="dbt build --full-refresh")
    args = parser.parse_args(argv)

    raw_dir = (args.raw_dir or settings.raw_dir()).resolve()
    spark = spark_session()
    write_pseudonymisation_key(spark)
    for report in load_days(spark, raw_dir, only_changed=not args.all_days):
        print(
            f"  {report.received_date}: {report.files} files, {report.lines} lines -> "
            f"{report.loaded} loaded, {report.duplicates} duplicates, "
            f"{report.quarantined} quarantined ({report.seconds:.1f} s)"
        )
    if args.no_build:
        return 0
    build = ["build"] + (["--full-refresh"] if args.full_refresh else [])
    return 0 if run_dbt(build) else 1


if __name__ == "__main__":
    raise SystemExit(main())
