"""Read the dump files of any number of day folders into Spark as staged lines, in one job.

Spark's text source splits every file into physical lines (gzip by suffix, as Spark does),
keeping the raw bytes, so invalid UTF-8 is detected by the classification rather than silently
replaced. The files are symlinks named by their index (`_link_name`), so each line's file, and
through it its source_file and received_date, comes back from the file name.

Line numbers without moving the text: a line belongs to the file block it starts in, and
monotonically_increasing_id numbers the lines of one Spark partition consecutively, so a line's
number is its id minus the first id of its block plus the lines of the file's earlier blocks.
Those two figures per block come from a small aggregate (a second, narrow scan of the files,
broadcast back); the lines themselves are never shuffled or sorted. (A window ordered by block
and id would sort every line, text included.)

A file Spark cannot read to the end (a truncated or corrupt gzip) fails the whole job, and the
error names it: that file is salvaged as on DuckDB (`gzip_recovery`: the lines before the cut
are read from a plain copy and the cut is quarantined) and the job runs again.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from orchestration.ingest.gzip_recovery import StagedLine, salvage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# The relation the contract's classification query reads (contract.Dialect).
LINES_VIEW = "cdp_lines"
LINES_SCHEMA = ("source_file string, line_number bigint, line string, stage_reason string, "
                "received_date date")

T = TypeVar("T")


@dataclass(frozen=True)
class DumpFile:
    """A non-empty dump file, its name in the raw tables and the day it belongs to."""

    path: Path
    display: str
    received_date: dt.date


def _link_name(index: int, path: Path) -> str:
    # Spark picks the codec by suffix and is case-sensitive; DuckDB is not (UPPER.JSONL.GZ).
    return f"{index:06d}" + (".jsonl.gz" if path.name.lower().endswith(".gz") else ".jsonl")


def _read_lines(spark: SparkSession, paths: list[Path]) -> DataFrame:
    """(file_index, line_number, line) for every physical line of the files."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    lines = spark.read.text([p.as_uri() for p in paths]).select(
        F.col("value").alias("line"),
        F.regexp_extract(F.col("_metadata.file_name"), r"^([0-9]+)\.", 1)
        .cast("int")
        .alias("file_index"),
        F.col("_metadata.file_block_start").alias("block_start"),
        F.monotonically_increasing_id().alias("position"),
    )
    earlier = (Window.partitionBy("file_index").orderBy("block_start")
               .rowsBetween(Window.unboundedPreceding, -1))
    blocks = (
        lines.groupBy("file_index", "block_start")
        .agg(F.min("position").alias("first_position"), F.count(F.lit(1)).alias("lines"))
        .select(
            "file_index", "block_start",
            (F.col("first_position") - F.coalesce(F.sum("lines").over(earlier), F.lit(0)))
            .alias("base"),
        )
    )
    return lines.join(F.broadcast(blocks), ["file_index", "block_start"]).select(
        "file_index", (F.col("position") - F.col("base") + 1).alias("line_number"), "line"
    )


def _staged(spark: SparkSession, files: list[DumpFile], paths: list[Path],
            extra: list[tuple]) -> DataFrame:
    """The staged lines (LINES_SCHEMA): the lines read from `paths` plus the `extra` rows."""
    from pyspark.sql import functions as F

    staged = spark.createDataFrame(extra, LINES_SCHEMA)
    if not paths:
        return staged
    names = spark.createDataFrame(
        [(i, f.display, f.received_date) for i, f in enumerate(files)],
        "file_index int, source_file string, received_date date",
    )
    return _read_lines(spark, paths).join(F.broadcast(names), "file_index").select(
        "source_file", "line_number", "line", F.lit(None).cast("string").alias("stage_reason"),
        "received_date",
    ).unionByName(staged)


def stage_lines(spark: SparkSession, files: list[DumpFile], tmp: Path,
                finish: Callable[[DataFrame], T]) -> T:
    """Hand the staged lines of every file (LINES_SCHEMA) to `finish`, which must read them
    all (e.g. cache and count what it builds on them); return what it returns.

    When `finish` fails on a file Spark cannot read, that file is salvaged (its readable
    lines read from a plain copy, the rest one quarantined row in the extra rows) and
    `finish` runs again on the lines of every file.
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.sql.utils import CapturedException

    links_dir = tmp / "links"
    links_dir.mkdir()
    pending: dict[int, Path] = {}
    for index, file in enumerate(files):
        pending[index] = links_dir / _link_name(index, file.path)
        pending[index].symlink_to(file.path.resolve())
    plain: list[Path] = []
    extra: list[tuple] = []
    while True:
        try:
            return finish(_staged(spark, files, list(pending.values()) + plain, extra))
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
            rejected, recovered = _salvage(files[index], index, links_dir, tmp, error)
            extra.append((*rejected, files[index].received_date))
            if recovered is not None:
                plain.append(recovered)


def _readable(spark: SparkSession, link: Path) -> bool:
    from py4j.protocol import Py4JJavaError
    from pyspark.sql.utils import CapturedException

    try:
        spark.read.text(link.as_uri()).count()
    except (CapturedException, Py4JJavaError):
        return False
    return True


def _salvage(file: DumpFile, index: int, links_dir: Path, tmp: Path,
             error: BaseException) -> tuple[StagedLine, Path | None]:
    """What can be read of a file Spark could not read: the staged line that stands for the
    rest, and the lines before a gzip cut as a plain file to read (or None)."""
    work = tmp / f"salvage-{index:06d}"  # files of different days may share a name
    work.mkdir()
    saved = salvage(file.path, file.display, _first_line(error), work)
    if saved.readable is None:
        return saved.rejected, None
    plain = links_dir / f"{index:06d}.recovered.jsonl"
    shutil.move(saved.readable, plain)
    return saved.rejected, plain


def _error_text(exc: BaseException) -> str:
    return str(getattr(exc, "java_exception", None) or exc) + "\n" + str(exc)


def _first_line(exc: BaseException) -> str:
    """The root cause of a failed read, e.g. `java.util.zip.ZipException: Not in GZIP format`."""
    text = _error_text(exc)
    causes = re.findall(r"^(?:Caused by: )?([\w.$]+(?:Exception|Error): .*)$", text, re.M)
    text = (causes[-1] if causes else text).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
