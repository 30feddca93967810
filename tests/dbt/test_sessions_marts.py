"""Sessions, page views and page metrics on a small hand-worked dump.

Every number asserted below was worked out by hand from the events in `hand_worked_messages`
(the arithmetic is in the comments), not read back from the warehouse.

Site https://shop.example.com; all times UTC; dump folders by receivedAt date.

  visitor  events (time, type, path)                         sessions
  -------  ------------------------------------------------  ------------------------------------
  A a-1    08:59 identify a-1 = user u-a                      (identify: not a session event)
           09:00:00 page /        referrer google.com         A1: / -> /pricing -> [Order Completed]
           09:00:40 page /pricing                                 -> /thanks -> /blog
           09:02:10 track Order Completed                         (the /blog view is exactly 30 min
           09:03:00 page /thanks                                  after /thanks: same session)
           09:33:00 page /blog
           10:03:01 page /                                    A2: / (30 min 1 s later: new session)
  B b-1    23:50:00 page /pricing  campaign newsletter/email  B1: /pricing -> / across midnight
           00:05:00 (Mar 2) page /                                (received Mar 2)
  C c-1    11:00, 11:01 pages / and /pricing, consent false   none: kept out of everything
  C c-2    11:00 page /, consent true                         C2: / (bounce)
  D d-1    12:00 page /pricing with userId u-a                D1: /pricing (bounce); customer of
                                                                  u-a, i.e. A's customer
  E u-e    14:00 track Signed Up (user id only)               E1: no page view, converting
  F f-1    15:00 page /        tracker session S1             F1: / (bounce)
           15:10 page /pricing tracker session S2             F2: /pricing (bounce): a change of
                                                                  tracker session id, 10 min apart
  G g-1    page /future stamped 2031, received 16:00          G1: clamped to 16:00 (bounce)
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from support.dbt_project import (
    DbtProject,
    load_days,
    message,
    query,
    warn_count,
    write_dumps_by_received_day,
)

pytestmark = pytest.mark.slow

DAY1 = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def at(hours: int, minutes: int = 0, seconds: int = 0, days: int = 0) -> dt.datetime:
    return DAY1 + dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def hand_worked_messages() -> list[dict]:
    return [
        # A: one identify linking a-1 to u-a, a converting session, then a bounce
        message("identify", "a-00", at(8, 59), anonymous_id="a-1", user_id="u-a",
                traits={"email": "a@example.com"}),
        message("page", "a-01", at(9, 0, 0), anonymous_id="a-1", path="/",
                referrer="https://www.google.com/search?q=shoes"),
        message("page", "a-02", at(9, 0, 40), anonymous_id="a-1", path="/pricing",
                referrer="https://shop.example.com/"),
        message("track", "a-03", at(9, 2, 10), anonymous_id="a-1", event="Order Completed",
                properties={"order_id": "o-1", "revenue": 30}, path="/pricing"),
        message("page", "a-04", at(9, 3, 0), anonymous_id="a-1", path="/thanks"),
        message("page", "a-05", at(9, 33, 0), anonymous_id="a-1", path="/blog"),
        message("page", "a-06", at(10, 3, 1), anonymous_id="a-1", path="/"),
        # B: a campaign session across midnight; the second view is received on Mar 2
        message("page", "b-01", at(23, 50), anonymous_id="b-1", path="/pricing",
                url="https://shop.example.com/pricing?utm_source=ignored",
                campaign={"source": "newsletter", "medium": "email", "name": "march"}),
        message("page", "b-02", at(0, 5, days=1), anonymous_id="b-1", path="/"),
        # C: consent refused (kept out) and consent given (kept)
        message("page", "c-01", at(11, 0), anonymous_id="c-1", path="/",
                analytics_consent=False),
        message("page", "c-02", at(11, 1), anonymous_id="c-1", path="/pricing",
                analytics_consent=False),
        message("page", "c-03", at(11, 0), anonymous_id="c-2", path="/", analytics_consent=True),
        # D: another browser of user u-a
        message("page", "d-01", at(12, 0), anonymous_id="d-1", user_id="u-a", path="/pricing"),
        # E: a server-side conversion with a user id only
        message("track", "e-01", at(14, 0), user_id="u-e", event="Signed Up"),
        # F: the tracker's own session ids
        message("page", "f-01", at(15, 0), anonymous_id="f-1", path="/",
                tracker_session_id="S1"),
        message("page", "f-02", at(15, 10), anonymous_id="f-1", path="/pricing",
                tracker_session_id="S2"),
        # G: a device clock years ahead
        message("page", "g-01", "2031-01-01T00:00:00.000Z", received_at=at(16, 0),
                anonymous_id="g-1", path="/future"),
    ]


# page_metrics_daily, worked by hand. Columns: page_views, unique_visitors, entrances, exits,
# bounces, bounce_rate, exit_rate, avg_time_on_page_seconds, conversions, conversion_rate.
EXPECTED_PAGE_METRICS = {
    # Mar 1, "/": views A1 09:00 (landing, 40 s to /pricing), A2 10:03:01 (landing, exit,
    # bounce), C2 11:00 (landing, exit, bounce), F1 15:00 (landing, exit, bounce) = 4 views.
    # visitors: A's customer, C2, F = 3. entrances 4; exits 3; bounces 3;
    # bounce_rate 3/4 = 0.75; exit_rate 3/4 = 0.75; avg time: only A1 has one = 40;
    # conversions: A1 converted (Order Completed) = 1; conversion_rate 1/4 = 0.25.
    ("2024-03-01", "/"): (4, 3, 4, 3, 3, 0.75, 0.75, 40.0, 1, 0.25),
    # Mar 1, "/pricing": A1 09:00:40 (140 s to /thanks at 09:03:00), D1 12:00 (landing, exit,
    # bounce), F2 15:10 (landing, exit, bounce), B1 23:50 (landing, 15 min = 900 s to "/")
    # = 4 views. visitors: A's customer (A1 and D1: u-a joins d-1 to a-1), F, B = 3.
    # entrances D1, F2, B1 = 3; exits D1, F2 = 2; bounces D1, F2 = 2;
    # bounce_rate 2/3; exit_rate 2/4 = 0.5; avg time (140 + 900) / 2 = 520;
    # conversions 0 (only A1 converted and it entered on "/"); conversion_rate 0/3 = 0.
    ("2024-03-01", "/pricing"): (4, 3, 3, 2, 2, 2 / 3, 0.5, 520.0, 0, 0.0),
    # Mar 1, "/thanks": A1 09:03:00, 30 min (1800 s) to /blog; no entrance, no exit.
    # bounce_rate and conversion_rate null (0 entrances); exit_rate 0/1 = 0.
    ("2024-03-01", "/thanks"): (1, 1, 0, 0, 0, None, 0.0, 1800.0, 0, None),
    # Mar 1, "/blog": A1's last view (exit); no time on page; exit_rate 1/1.
    ("2024-03-01", "/blog"): (1, 1, 0, 1, 0, None, 1.0, None, 0, None),
    # Mar 1, "/future": G1's single view, clamped from 2031 to its receivedAt (16:00 Mar 1).
    ("2024-03-01", "/future"): (1, 1, 1, 1, 1, 1.0, 1.0, None, 0, 0.0),
    # Mar 2, "/": B1's second view (exit), entered the day before on /pricing.
    ("2024-03-02", "/"): (1, 1, 0, 1, 0, None, 1.0, None, 0, None),
}

METRIC_COLUMNS = [
    "page_views", "unique_visitors", "entrances", "exits", "bounces", "bounce_rate",
    "exit_rate", "avg_time_on_page_seconds", "conversions", "conversion_rate",
]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    work = tmp_path_factory.mktemp("sessions_marts")
    raw_dir = work / "raw"
    warehouse_path = work / "warehouse.duckdb"
    days = write_dumps_by_received_day(raw_dir, hand_worked_messages())
    assert days == ["2024-03-01", "2024-03-02"]
    load_days(warehouse_path, raw_dir, days)
    result = DbtProject(warehouse_path, work).build()
    return warehouse_path, result


def test_page_metrics_daily_matches_hand_worked_numbers(warehouse) -> None:
    warehouse_path, _ = warehouse
    actual = query(warehouse_path, "select * from marts.page_metrics_daily")
    assert list(actual.columns) == ["date", "page_path", *METRIC_COLUMNS]
    rows = {
        (row.date.strftime("%Y-%m-%d"), row.page_path): tuple(row[c] for c in METRIC_COLUMNS)
        for _, row in actual.iterrows()
    }
    assert set(rows) == set(EXPECTED_PAGE_METRICS)
    for key, expected in EXPECTED_PAGE_METRICS.items():
        for column, want, got in zip(METRIC_COLUMNS, expected, rows[key], strict=True):
            if want is None:
                assert got is None or pd.isna(got), (key, column, got)
            else:
                assert not pd.isna(got) and math.isclose(got, want, rel_tol=1e-9), (
                    key, column, got, want)


def test_sessions_follow_the_definitions(warehouse) -> None:
    warehouse_path, _ = warehouse
    sessions = query(warehouse_path, """
        select coalesce(anonymous_id, user_id) as visitor, started_at, ended_at,
               duration_seconds, page_views, track_events, is_bounce, has_conversion,
               landing_page_path, exit_page_path, tracker_session_id, utm_source, utm_medium,
               utm_campaign, channel, customer_id, clamped_events
        from marts.sessions order by visitor, started_at
    """)
    by_visitor = sessions.groupby("visitor").size().to_dict()
    # A: 2 (30 min stays, 30 min 1 s splits); B: 1 across midnight; c-1 none (no consent);
    # F: 2 (tracker session id changed); E: 1 of track events only.
    assert by_visitor == {"a-1": 2, "b-1": 1, "c-2": 1, "d-1": 1, "f-1": 2, "g-1": 1, "u-e": 1}

    a1, a2 = sessions[sessions.visitor == "a-1"].itertuples()
    assert (a1.page_views, a1.track_events, a1.landing_page_path, a1.exit_page_path) == (
        4, 1, "/", "/blog")
    # 09:00:00 -> 09:33:00
    assert a1.duration_seconds == 33 * 60
    assert a1.has_conversion and not a1.is_bounce
    assert (a1.utm_source, a1.utm_medium, a1.utm_campaign, a1.channel) == (
        "google", "search", None, "search")
    assert a2.is_bounce and a2.started_at == pd.Timestamp("2024-03-01 10:03:01")
    assert (a2.utm_source, a2.utm_medium, a2.channel) == ("direct", "direct", "direct")

    (b1,) = sessions[sessions.visitor == "b-1"].itertuples()
    assert b1.started_at.date() != b1.ended_at.date() and b1.duration_seconds == 15 * 60
    # context.campaign wins over the utm parameters of the URL
    assert (b1.utm_source, b1.utm_medium, b1.utm_campaign, b1.channel) == (
        "newsletter", "email", "march", "email")

    (e1,) = sessions[sessions.visitor == "u-e"].itertuples()
    assert (e1.page_views, e1.track_events, e1.has_conversion, e1.is_bounce) == (0, 1, True, False)
    assert e1.landing_page_path is None and e1.customer_id is not None

    f_sessions = sessions[sessions.visitor == "f-1"]
    assert list(f_sessions.tracker_session_id) == ["S1", "S2"]

    (g1,) = sessions[sessions.visitor == "g-1"].itertuples()
    assert g1.clamped_events == 1 and g1.started_at == pd.Timestamp("2024-03-01 16:00:00")

    customers = sessions.set_index("visitor").customer_id
    assert customers["d-1"] == customers["a-1"].iloc[0]  # u-a joins d-1 to a-1
    assert customers["b-1"] != customers["a-1"].iloc[0]


def test_page_views_time_on_page_and_flags(warehouse) -> None:
    warehouse_path, _ = warehouse
    views = query(warehouse_path, """
        select event_id, page_view_in_session, time_on_page_seconds, is_landing, is_exit,
               viewed_at, is_clamped
        from marts.page_views where anonymous_id = 'a-1' order by viewed_at
    """)
    assert list(views.event_id) == ["a-01", "a-02", "a-04", "a-05", "a-06"]
    assert list(views.page_view_in_session) == [1, 2, 3, 4, 1]
    # 40 s, 2 min 20 s, 30 min, then the session's last view and A2's only view
    assert list(views.time_on_page_seconds[:3]) == [40.0, 140.0, 1800.0]
    assert views.time_on_page_seconds[3:].isna().all()
    assert list(views.is_landing) == [True, False, False, False, True]
    assert list(views.is_exit) == [False, False, False, True, True]


def test_consent_false_messages_are_kept_out_and_counted(warehouse) -> None:
    warehouse_path, _ = warehouse
    counts = query(warehouse_path, """
        select
            (select count(*) from intermediate.int_sessions__events_unioned
             where is_excluded_by_consent) as excluded,
            (select count(*) from intermediate.int_sessions__sessionized
             where session_key = 'anonymous_id:c-1') as sessionized,
            (select count(*) from marts.page_views where anonymous_id = 'c-1') as page_views,
            (select count(*) from marts.sessions where anonymous_id = 'c-1') as sessions,
            (select count(*) from marts.page_views where anonymous_id = 'c-2') as consented
    """).iloc[0]
    assert counts.excluded == 2
    assert (counts.sessionized, counts.page_views, counts.sessions) == (0, 0, 0)
    # consent given explicitly is kept, like consent not stated
    assert counts.consented == 1
    # the refused views are in no metric: "/" on Mar 1 has 4 views (c-1's would make 5)
    total = query(warehouse_path, "select sum(page_views) as n from marts.page_metrics_daily")
    assert total.n[0] == 4 + 4 + 1 + 1 + 1 + 1


def test_warn_checks_count_clamped_events(warehouse) -> None:
    _, result = warehouse
    assert warn_count(result, "assert_session_events_not_clamped") == 1
    assert warn_count(result, "assert_sessions_split_by_cap") == 0
