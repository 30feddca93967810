"""Every mart tells the same story about a customer: a hand-made shared device and app users.

Every number below was worked out by hand from `shared_device_messages` (the reasoning is in
the comments), not read back from the warehouse. All times UTC on 2024-05-01.

  device            events                                              owner (customer)
  ----------------  --------------------------------------------------  ----------------------
  browser kiosk     09:00 identify u-ann (ann@): the kiosk becomes Ann's
                    09:01 page /, 09:02 page /pricing, 09:03 Order       Ann: session K1
                      Completed o-ann 40 (all with userId u-ann)
                    09:05 identify u-ben (ben@): merge protection keeps
                      Ben apart from the kiosk's first user
                    09:06 page /account, 09:07 page /pricing, 09:08      Ben: session K2 (his
                      Order Completed o-ben 25, 09:09 page                 user id decides)
                      /checkout/success (all with userId u-ben)
                    09:12 page / without user id (logged out)            Ann (the kiosk's): K3
  iPhone ben-phone  12:00 screen Home, 12:00:30 identify u-ben, 12:01     Ben: session B1
                    screen Store, 12:02 track Product Viewed, 12:05
                    screen Cart
  Android cleo-ph.  15:00 screen Home, 15:00:20 screen Settings           Cleo (anonymous): C1
  browser dan-1     16:00 page /blog with userId u-dan, analytics         refused: no customer
                      consent refused
                    16:05 page /blog, no user id                          Dan (anonymous): D1

Before one rule of ownership, page_views gave Ben's kiosk views to Ben (user id first) while
sessions gave the whole kiosk visit to Ann (anonymous id first): customer_360 said Ben had 0
page views and page_views held 3 of his.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from support.dbt_project import (
    MOBILE_APP,
    DbtProject,
    load_days,
    message,
    query,
    write_dumps_by_received_day,
)

pytestmark = pytest.mark.slow

DAY = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
ANDROID_APP = {
    "library": {"name": "analytics-android", "version": "4.11.3"},
    "app": {"name": "Shop", "version": "3.1.0", "build": "310"},
    "device": {"type": "android", "model": "Pixel 8", "manufacturer": "Google"},
    "os": {"name": "Android", "version": "14"},
    "network": {"wifi": False, "cellular": True, "carrier": "Vodafone"},
}
SELECTION = ["+customer_360", "+orders", "+page_metrics_daily", "+screen_metrics_daily",
             "+screen_views", "+identity_conflicts"]


def at(hours: int, minutes: int = 0, seconds: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(hours=hours, minutes=minutes, seconds=seconds)


def shared_device_messages() -> list[dict]:
    m = message
    return [
        # the kiosk: Ann first, then Ben, then an anonymous view
        m("identify", "k-00", at(9, 0), anonymous_id="kiosk", user_id="u-ann",
          traits={"email": "ann@example.com"}),
        m("page", "k-01", at(9, 1), anonymous_id="kiosk", user_id="u-ann", path="/"),
        m("page", "k-02", at(9, 2), anonymous_id="kiosk", user_id="u-ann", path="/pricing"),
        m("track", "k-03", at(9, 3), anonymous_id="kiosk", user_id="u-ann",
          event="Order Completed", properties={"order_id": "o-ann", "revenue": 40}),
        m("identify", "k-04", at(9, 5), anonymous_id="kiosk", user_id="u-ben",
          traits={"email": "ben@example.com"}),
        m("page", "k-05", at(9, 6), anonymous_id="kiosk", user_id="u-ben", path="/account"),
        m("page", "k-06", at(9, 7), anonymous_id="kiosk", user_id="u-ben", path="/pricing"),
        m("track", "k-07", at(9, 8), anonymous_id="kiosk", user_id="u-ben",
          event="Order Completed", properties={"order_id": "o-ben", "revenue": 25}),
        m("page", "k-08", at(9, 9), anonymous_id="kiosk", user_id="u-ben",
          path="/checkout/success"),
        m("page", "k-09", at(9, 12), anonymous_id="kiosk", path="/"),
        # Ben's iPhone app: a screen before he logs in, then logged in
        m("screen", "b-01", at(12, 0), anonymous_id="ben-phone", name="Home", app=MOBILE_APP),
        m("identify", "b-02", at(12, 0, 30), anonymous_id="ben-phone", user_id="u-ben",
          app=MOBILE_APP),
        m("screen", "b-03", at(12, 1), anonymous_id="ben-phone", user_id="u-ben", name="Store",
          app=MOBILE_APP),
        m("track", "b-04", at(12, 2), anonymous_id="ben-phone", user_id="u-ben",
          event="Product Viewed", app=MOBILE_APP),
        m("screen", "b-05", at(12, 5), anonymous_id="ben-phone", user_id="u-ben", name="Cart",
          app=MOBILE_APP),
        # Cleo only uses the Android app, never logged in
        m("screen", "c-01", at(15, 0), anonymous_id="cleo-phone", name="Home", app=ANDROID_APP),
        m("screen", "c-02", at(15, 0, 20), anonymous_id="cleo-phone", name="Settings",
          app=ANDROID_APP),
        # Dan refuses analytics consent while logged in: that message links nothing
        m("page", "d-01", at(16, 0), anonymous_id="dan-1", user_id="u-dan", path="/blog",
          analytics_consent=False),
        m("page", "d-02", at(16, 5), anonymous_id="dan-1", path="/blog"),
    ]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("reconciliation")
    raw_dir, warehouse_path = work / "raw", work / "warehouse.duckdb"
    days = write_dumps_by_received_day(raw_dir, shared_device_messages())
    load_days(warehouse_path, raw_dir, days)
    # the data tests of the selection run too, the reconciliation checks among them: the build
    # fails if one does
    DbtProject(warehouse_path, work).build(select=SELECTION)
    return warehouse_path


def customers_by_person(warehouse: Path) -> dict[str, str]:
    """Person -> customer_id, from the identifier each person is known by."""
    rows = query(warehouse, """
        select identifier_value, customer_id from marts.identity_graph
        where identifier_value in ('u-ann', 'u-ben', 'cleo-phone', 'dan-1')
    """)
    names = {"u-ann": "ann", "u-ben": "ben", "cleo-phone": "cleo", "dan-1": "dan"}
    return {names[r.identifier_value]: r.customer_id for r in rows.itertuples()}


def per_person(warehouse: Path, sql: str) -> dict[str, int]:
    """{person: n} from a query returning (customer_id, n)."""
    person = {c: p for p, c in customers_by_person(warehouse).items()}
    return {person[r[0]]: r[1] for r in query(warehouse, sql).itertuples(index=False)}


def test_the_shared_device_keeps_two_customers_and_refused_consent_links_nothing(warehouse):
    customers = customers_by_person(warehouse)
    assert len(set(customers.values())) == 4
    graph = query(warehouse, """
        select identifier_type, identifier_value, customer_id from marts.identity_graph
    """)
    of = {(r.identifier_type, r.identifier_value): r.customer_id for r in graph.itertuples()}
    # the kiosk and Ann's email are Ann's; Ben's email and his phone are Ben's
    assert of[("anonymous_id", "kiosk")] == of[("email", "ann@example.com")] == customers["ann"]
    assert of[("email", "ben@example.com")] == of[("anonymous_id", "ben-phone")] == customers[
        "ben"]
    # Dan's user id was only ever sent with consent refused: it links nothing, it is nowhere
    assert ("user_id", "u-dan") not in of
    # kiosk, u-ann, ann@, u-ben, ben@, ben-phone, cleo-phone, dan-1
    assert len(graph) == 8
    # ... but the refusing message still has an owner (its consent statement counts)
    owner = query(warehouse, """
        select customer_id from intermediate.int_identity__message_customers
        where message_id = 'd-01'
    """).customer_id[0]
    assert owner == customers["dan"]


def test_sessions_are_cut_where_the_owner_changes(warehouse):
    sessions = query(warehouse, """
        select anchor_message_id, customer_id, views, page_views, screen_views, track_events,
               is_bounce, has_conversion, landing_page_path, exit_page_path,
               landing_screen_name, exit_screen_name, platform, is_app_session, app_version,
               device_model, os_name, network_carrier, network_wifi
        from marts.sessions order by started_at
    """).set_index("anchor_message_id")
    customers = customers_by_person(warehouse)
    # kiosk: Ann (k-01..k-03), Ben (k-05..k-08), Ann again (k-09)
    assert list(sessions.index) == ["k-01", "k-05", "k-09", "b-01", "c-01", "d-02"]
    assert [sessions.customer_id[s] for s in sessions.index] == [
        customers[p] for p in ("ann", "ben", "ann", "ben", "cleo", "dan")]
    k1, k2, k3 = (sessions.loc[s] for s in ("k-01", "k-05", "k-09"))
    assert (k1.page_views, k1.track_events, k1.landing_page_path, k1.exit_page_path) == (
        2, 1, "/", "/pricing")
    assert k1.has_conversion and not k1.is_bounce
    assert (k2.page_views, k2.track_events, k2.landing_page_path, k2.exit_page_path) == (
        3, 1, "/account", "/checkout/success")
    assert k3.is_bounce and k3.landing_page_path == "/"
    # Ben's app session: the screen before his login is his too (his phone joined him)
    b1 = sessions.loc["b-01"]
    assert (b1.views, b1.page_views, b1.screen_views, b1.track_events) == (3, 0, 3, 1)
    assert (b1.landing_screen_name, b1.exit_screen_name, b1.landing_page_path) == (
        "Home", "Cart", None)
    assert (b1.platform, b1.is_app_session, b1.app_version, b1.device_model, b1.os_name) == (
        "ios", True, "3.2.1", "iPhone15,2", "iOS")
    assert (b1.network_carrier, b1.network_wifi) == ("T-Mobile", True)
    c1 = sessions.loc["c-01"]
    assert (c1.platform, c1.screen_views, c1.is_bounce, c1.exit_screen_name) == (
        "android", 2, False, "Settings")
    assert sessions.platform["k-01"] == "web" and not sessions.is_app_session["k-01"]


def test_customer_360_counts_equal_the_rows_of_the_marts(warehouse):
    c360 = query(warehouse, """
        select customer_id, sessions, views, page_views, screen_views, track_events, orders,
               revenue, app_sessions, platforms, last_app_version, user_id
        from marts.customer_360
    """).set_index("customer_id")
    customers = customers_by_person(warehouse)
    columns = ["sessions", "views", "page_views", "screen_views", "track_events", "orders",
               "revenue", "app_sessions", "platforms", "last_app_version", "user_id"]
    expected = {
        # K1 and K3; / + /pricing + /; the kiosk order
        "ann": (2, 3, 3, 0, 1, 1, 40, 0, "web", None, "u-ann"),
        # K2 and B1; /account, /pricing, /checkout/success and three screens; an order and a
        # Product Viewed
        "ben": (2, 6, 3, 3, 2, 1, 25, 1, "ios, web", "3.2.1", "u-ben"),
        "cleo": (1, 2, 0, 2, 0, 0, 0, 1, "android", "3.1.0", None),
        # D1 only: the refused view counts nowhere
        "dan": (1, 1, 1, 0, 0, 0, 0, 0, "web", None, None),
    }
    assert len(c360) == 4
    for person, values in expected.items():
        row = c360.loc[customers[person]]
        assert tuple(row[c] for c in columns) == values, person

    # ... and each equals the customer's rows of the mart it summarises
    assert per_person(warehouse, "select customer_id, count(*) from marts.sessions group by 1"
                      ) == {"ann": 2, "ben": 2, "cleo": 1, "dan": 1}
    assert per_person(warehouse, "select customer_id, count(*) from marts.page_views group by 1"
                      ) == {"ann": 3, "ben": 3, "dan": 1}
    assert per_person(warehouse,
                      "select customer_id, count(*) from marts.screen_views group by 1"
                      ) == {"ben": 3, "cleo": 2}
    assert per_person(warehouse,
                      "select customer_id, sum(track_events) from marts.sessions group by 1"
                      ) == {"ann": 1, "ben": 2, "cleo": 0, "dan": 0}
    assert per_person(warehouse, "select customer_id, sum(revenue) from marts.orders group by 1"
                      ) == {"ann": 40, "ben": 25}


def test_every_view_belongs_to_its_sessions_customer(warehouse):
    mismatched = query(warehouse, """
        select count(*) as n from (
            select session_id, customer_id from marts.page_views
            union all
            select session_id, customer_id from marts.screen_views
        ) as views
        inner join marts.sessions using (session_id)
        where views.customer_id is distinct from sessions.customer_id
    """).n[0]
    assert mismatched == 0
    # Ben's kiosk views are in his session K2 (anchored on k-05)
    views = query(warehouse, """
        select event_id, s.anchor_message_id from marts.page_views p
        inner join marts.sessions s using (session_id)
        where event_id in ('k-05', 'k-06', 'k-08')
    """)
    assert set(views.anchor_message_id) == {"k-05"}


PAGE_COLUMNS = ["page_views", "unique_visitors", "entrances", "exits", "bounces", "bounce_rate",
                "exit_rate", "avg_time_on_page_seconds", "conversions", "conversion_rate"]
EXPECTED_PAGES = {
    # K1 09:01 (landing, 60 s, converting session) and K3 09:12 (landing, exit, bounce);
    # both Ann's
    "/": (2, 1, 2, 1, 1, 0.5, 0.5, 60.0, 1, 0.5),
    # K1 09:02 (K1's exit: the order after it is no view) and K2 09:07 (120 s to 09:09)
    "/pricing": (2, 2, 0, 1, 0, None, 0.5, 120.0, 0, None),
    # K2's landing, 60 s to 09:07; K2 converted
    "/account": (1, 1, 1, 0, 0, 0.0, 0.0, 60.0, 1, 1.0),
    "/checkout/success": (1, 1, 0, 1, 0, None, 1.0, None, 0, None),
    # D1, a bounce (the refused view is not counted)
    "/blog": (1, 1, 1, 1, 1, 1.0, 1.0, None, 0, 0.0),
}
SCREEN_COLUMNS = ["screen_views", "unique_visitors", "entrances", "exits", "bounces",
                  "bounce_rate", "exit_rate", "avg_time_on_screen_seconds", "conversions",
                  "conversion_rate"]
EXPECTED_SCREENS = {
    # B1 12:00 (60 s to Store) and C1 15:00 (20 s to Settings): (60 + 20) / 2
    "Home": (2, 2, 2, 0, 0, 0.0, 0.0, 40.0, 0, 0.0),
    "Store": (1, 1, 0, 0, 0, None, 0.0, 240.0, 0, None),
    "Cart": (1, 1, 0, 1, 0, None, 1.0, None, 0, None),
    "Settings": (1, 1, 0, 1, 0, None, 1.0, None, 0, None),
}


@pytest.mark.parametrize(("mart", "key", "columns", "expected"), [
    ("page_metrics_daily", "page_path", PAGE_COLUMNS, EXPECTED_PAGES),
    ("screen_metrics_daily", "screen_name", SCREEN_COLUMNS, EXPECTED_SCREENS),
])
def test_daily_metrics_add_up_to_the_views_of_the_day(warehouse, mart, key, columns, expected):
    actual = query(warehouse, f"select * from marts.{mart}")
    assert {d.strftime("%Y-%m-%d") for d in actual.date} == {"2024-05-01"}
    rows = {row[key]: tuple(row[c] for c in columns) for _, row in actual.iterrows()}
    assert set(rows) == set(expected)
    for name, want_row in expected.items():
        for column, want, got in zip(columns, want_row, rows[name], strict=True):
            if want is None:
                assert got is None or pd.isna(got), (name, column, got)
            else:
                assert math.isclose(got, want, rel_tol=1e-9), (name, column, got, want)
    # the day's views are the rows of the view marts: 7 page views, 5 screen views
    total = sum(r[0] for r in expected.values())
    views = "page_views" if mart == "page_metrics_daily" else "screen_views"
    assert total == query(warehouse, f"select count(*) as n from marts.{views}").n[0] == (
        7 if views == "page_views" else 5)
