"""What a `cdp build` shows while it runs: one status line of the current stage on the terminal,
warnings and errors as they come, and every message in a log file (all of it with -v); and the
summary table it ends with. The Spark build (`orchestration.ingest.spark_build`) shows the same.

The messages are the job's log lines (`run_nightly_job(echo=...)`) and whatever is printed to
stdout meanwhile: dagster-dbt re-prints every dbt event there, so stdout is captured too."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.status import Status
from rich.table import Table

# What each step of the nightly job is doing, for the status line.
STAGES = {
    "raw__events": "loading the dump folders",
    "cdp_dbt_models": "dbt build",
    "published__marts": "publishing the marts",
    "activation__audience_exports": "writing the audience exports",
}
# dbt's "1 of 39 OK ...", after the time dbt puts in front when it prints to a terminal itself
_DBT_NODE = re.compile(r"^\s*(?:\d\d:\d\d:\d\d\s+)?(\d+) of (\d+) (?:OK|PASS|WARN|ERROR|FAIL|SKIP)")
_DAY = re.compile(r"^\s*(\d{4}-\d{2}-\d{2}): ")
_LOUD = ("warning:", "error:")
# The rows of the summary table: label, key of the build's summary.
SUMMARY_ROWS = (
    ("days loaded", "days"), ("lines read", "lines_read"), ("events loaded", "events_loaded"),
    ("duplicates", "duplicates"), ("quarantined", "quarantined"),
    ("suppressed (erased ids)", "suppressed"), ("erasures completed", "erasures_completed"),
    ("rows erased", "rows_erased"), ("consent-excluded msgs", "consent_excluded"),
    ("models built", "models_built"), ("checks passed", "tests_passed"),
    ("checks warned", "tests_warned"), ("checks failed", "tests_failed"),
    ("wall time (s)", "seconds"),
)


def log_path(log_dir: Path, now: dt.datetime | None = None) -> Path:
    """`<log_dir>/build-<UTC time>.log`."""
    now = now or dt.datetime.now(dt.UTC)
    return log_dir / f"build-{now:%Y%m%dT%H%M%SZ}.log"


class _Lines(io.TextIOBase):
    """A text stream that hands every complete line to `sink`."""

    def __init__(self, sink: Callable[[str], None]) -> None:
        self.sink = sink
        self.pending = ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        for line in lines:
            self.sink(line)
        return len(text)

    def close_pending(self) -> None:
        if self.pending:
            self.sink(self.pending)
            self.pending = ""


class BuildOutput:
    """Every line to the log file; on the terminal the status of the stage, warnings, errors.

    With `verbose` every line is printed as well, and no status line is drawn.
    """

    def __init__(self, path: Path, verbose: bool = False) -> None:
        self.path = path
        self.verbose = verbose
        self.stage = "starting"
        self._file: TextIO | None = None
        self._status: Status | None = None
        self._stdout = _Lines(self.echo)
        self._redirect = contextlib.redirect_stdout(self._stdout)
        self.console: Console | None = None  # the terminal as it is when the build starts

    def __enter__(self) -> BuildOutput:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        self.console = Console(file=sys.stdout, highlight=False)  # the terminal, not the capture
        if not self.verbose:
            self._status = self.console.status(self.stage)
            self._status.start()
        self._redirect.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._redirect.__exit__(kind, error, trace)
        self._stdout.close_pending()
        if self._status is not None:
            self._status.stop()
        if self._file is not None:
            self._file.close()

    def echo(self, line: str) -> None:
        """A message of the build: logged; shown when loud (or verbose); else the status."""
        if self._file is not None:
            self._file.write(line + "\n")
            self._file.flush()
        if self.verbose or line.lstrip().startswith(_LOUD):
            (self.console or Console(highlight=False)).print(line, markup=False)
            return
        if node := _DBT_NODE.match(line):
            self._show(f"dbt build: {node.group(1)} of {node.group(2)} nodes")
        elif day := _DAY.match(line):
            self._show(f"loading the dump folders: {day.group(1)}")

    def step(self, step_key: str) -> None:
        """The job moved to a step (a Dagster step key)."""
        stage = STAGES.get(step_key, step_key)
        if stage != self.stage.split(":")[0]:
            self._show(stage)

    def _show(self, text: str) -> None:
        self.stage = text
        if self._status is not None:
            self._status.update(text)


def print_summary(summary: Mapping, console: Console, title: str = "cdp build") -> None:
    """The table a build ends with, and the quarantine reasons under it."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in SUMMARY_ROWS:
        value = summary.get(key, 0)
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if summary.get("quarantine_by_reason"):
        reasons = ", ".join(f"{k}: {v}" for k, v in summary["quarantine_by_reason"].items())
        console.print(f"quarantined by reason: {reasons} (see raw.quarantine)")
