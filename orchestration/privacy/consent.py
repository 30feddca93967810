"""Consent: how many loaded messages said no to analytics (reported by the load step)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb

from orchestration import settings


def consent_excluded_messages(
    conn: duckdb.DuckDBPyConnection, days: Iterable[dt.date | str]
) -> int:
    """Messages of the given received days whose analytics consent is false."""
    days = [dt.date.fromisoformat(d) if isinstance(d, str) else d for d in days]
    if not days:
        return 0
    path = '$.context.consent.categoryPreferences."' + settings.analytics_consent_category() + '"'
    return int(conn.execute(
        """
        select count(*) from raw.events
        where received_date in (select unnest(?::date[]))
          and lower(json_extract_string(payload, ?)) = 'false'
        """,
        [days, path],
    ).fetchone()[0])


def consent_excluded_by_day(
    conn: duckdb.DuckDBPyConnection, days: Iterable[dt.date | str]
) -> dict[str, int]:
    """`consent_excluded_messages` per received day (`YYYY-MM-DD`; 0 for a day without any)."""
    dates = [dt.date.fromisoformat(d) if isinstance(d, str) else d for d in days]
    counts = {d.isoformat(): 0 for d in dates}
    if not dates:
        return counts
    path = '$.context.consent.categoryPreferences."' + settings.analytics_consent_category() + '"'
    counts.update(dict(conn.execute(
        """
        select strftime(received_date, '%Y-%m-%d'), count(*) from raw.events
        where received_date in (select unnest(?::date[]))
          and lower(json_extract_string(payload, ?)) = 'false'
        group by 1
        """,
        [dates, path],
    ).fetchall()))
    return counts
