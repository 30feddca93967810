"""Line accounting of a load: every line read is loaded, a duplicate, suppressed or quarantined.

Part of the raw-load contract (`orchestration.ingest.contract`): the queries that count a day's
classified lines and the report both engines write to raw.load_log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestration.ingest.contract import DAY_COLUMN, LOAD_LOG


def line_counts_sql(is_suppressed: str = "is_suppressed", by_day: bool = False) -> str:
    """One row over `cdp_classified`: lines read, valid (to load or duplicate), quarantined
    (including whole unreadable files), suppressed, unreadable files; with `by_day`, one row
    per received_date, the day first. (`count(case ...)`: DuckDB's count_if gives null, not
    0, over no rows.)"""
    day = f"{DAY_COLUMN}, " if by_day else ""
    return f"""
        select {day}count(case when line_number is not null or reason is null then 1 end),
               count(case when reason is null and not {is_suppressed} then 1 end),
               count(case when reason is not null and not {is_suppressed} then 1 end),
               count(case when {is_suppressed} then 1 end),
               -- a whole unreadable file is one quarantine row without a line number
               count(case when line_number is null and reason is not null then 1 end)
        from cdp_classified
        {f"group by {DAY_COLUMN}" if by_day else ""}
    """


def by_reason_sql(is_suppressed: str = "is_suppressed", by_day: bool = False) -> str:
    """Quarantined lines of `cdp_classified` per reason, most frequent first (with `by_day`,
    per received_date and reason, the day first)."""
    day = f"{DAY_COLUMN}, " if by_day else ""
    return f"""
        select {day}reason, count(*) as lines from cdp_classified
        where reason is not null and not {is_suppressed}
        group by {day}reason order by {day}lines desc, reason
    """


class LineAccountingError(RuntimeError):
    """A day's lines do not add up to loaded + duplicates + suppressed + quarantined."""


@dataclass
class LoadReport:
    """What happened to every line of one day folder."""

    received_date: dt.date
    files: int = 0
    empty_files: int = 0
    lines: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    suppressed: int = 0
    unreadable_files: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    folder_missing: bool = False

    @property
    def accounted(self) -> bool:
        """Every line read is loaded, a duplicate, suppressed or quarantined."""
        return self.lines == self.loaded + self.duplicates + self.suppressed + self.quarantined

    def check_accounted(self) -> None:
        if not self.accounted:
            raise LineAccountingError(
                f"{self.received_date}: line accounting does not add up: {self.as_dict()}"
            )

    def take_counts(self, counts: Sequence[Any], loaded: int, by_reason: Sequence[Any]) -> None:
        """Fill the line accounting from a `line_counts_sql` row, the rows written to
        raw.events and the `by_reason_sql` rows."""
        lines, valid, quarantined, suppressed, unreadable_files = (int(n) for n in counts)
        self.lines = lines
        self.loaded = loaded
        self.duplicates = valid - loaded
        self.quarantined = quarantined - unreadable_files
        self.suppressed = suppressed
        self.unreadable_files = unreadable_files
        self.quarantine_by_reason = {str(reason): int(n) for reason, n in by_reason}

    def summary(self) -> str:
        """One log line: where the day's lines went."""
        return (
            f"{self.received_date}: {self.files} files, {self.lines} lines -> {self.loaded} "
            f"loaded, {self.duplicates} duplicates, {self.suppressed} suppressed, "
            f"{self.quarantined} quarantined {self.quarantine_by_reason or ''} "
            f"in {self.seconds:.1f}s"
        )

    def load_log_row(self, fingerprint: str) -> dict[str, Any]:
        """The day's raw.load_log values by column, but `loaded_at` (the engine's clock)."""
        row = {c.name: getattr(self, c.name, None) for c in LOAD_LOG.columns}
        del row["loaded_at"]
        row["fingerprint"] = fingerprint
        return row

    def as_dict(self) -> dict:
        data = asdict(self)
        data["received_date"] = self.received_date.isoformat()
        return data
