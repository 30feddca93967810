"""Incremental identity resolution: a day-by-day build equals a full rebuild, exactly.

Five received days of hand-made messages plus the generator's traffic, built one day at a time
as the nightly job does, with: a late event (its event time 20 days before its received day:
it becomes its customer's anchor, so the customer id changes), a re-sent duplicate of an old
message delivered on a later day, a copy of an old message with an earlier receivedAt
delivered on a later day (the message moves to that day and its first day is reloaded), a
login on a later day merging an old anonymous device into a known user, a merge-protection
conflict that only a later day creates, an alias whose previousId becomes a user id two days
later (its type changes), a reloaded day that lost the only message linking two identifiers,
an erasure (cdp forget) carried out between two days (which also erases a message of
another visitor whose identifiers all stay), a message refusing analytics consent whose user id
enters the graph on a later day (it gets an owner, or changes owner by preference), and one
whose only identifier leaves the graph when the reloaded day loses its only linking message
(it loses its owner). Another warehouse loads the final
dumps at once, carries out the same erasure and rebuilds with --full-refresh. Every mart and
the identity intermediates must be equal row for row, and the incremental runs must have
resolved only part of the graph.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.dbt_project import (
    DbtProject,
    build_parsed_with,
    connect,
    load_days,
    message,
    query,
    write_dump,
)
from support.privacy_people import SALT

from orchestration import privacy
from orchestration.generator import generate

pytestmark = pytest.mark.slow

DAYS = ["2026-06-01", "2026-06-02", "2026-06-03", "2026-06-04", "2026-06-05"]
D1 = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
STATE = "intermediate.int_identity__resolution__state"
IDENTITY_ONLY = ["+identity_graph", "+identity_conflicts"]
MODELS_ONLY = ["--exclude-resource-type", "test", "unit_test"]
# written per build, not derived from the data: the incremental watermarks, the build time
# and what depends on it, and the audience history (one row per build that saw a change)
BUILD_COLUMNS = ["loaded_at", "identified_at", "sessionized_at", "days_since_last_seen",
                 "entered_at", "assigned_at", "resolved_through"]
BUILD_TABLES = {"marts.audience_membership_history", "marts.audience_sizes"}
COMPARED_INTERMEDIATES = [
    "intermediate.int_identity__message_identifiers",
    "intermediate.int_identity__resolution",
    "intermediate.int_identity__message_customers",
]


def t(day: int, hours: int, minutes: int = 0) -> dt.datetime:
    """Time on day `day` (1 = 2026-06-01)."""
    return D1 + dt.timedelta(days=day - 1, hours=hours, minutes=minutes)


def identify(mid: str, at: dt.datetime, *, email: str | None = None, **kw: Any) -> dict:
    traits = {"email": email} if email else {}
    return message("identify", mid, at, traits=traits, **kw)


def page(mid: str, at: dt.datetime, **kw: Any) -> dict:
    return message("page", mid, at, path="/", **kw)


def alias(mid: str, at: dt.datetime, previous_id: str, user_id: str) -> dict:
    return dict(message("alias", mid, at, user_id=user_id), previousId=previous_id)


LOST_ON_RELOAD = "lost-3"
GONE_ON_RELOAD = "gone-link"


def dumps() -> dict[str, list[dict]]:
    """The hand-made messages by received day (the dump folder)."""
    moved = identify("move-1", t(1, 17), anonymous_id="move-a", user_id="move-u",
                     received_at=t(1, 23))
    known = identify("known-1", t(1, 10), anonymous_id="known-a", user_id="known-u",
                     email="known@example.com")
    return {
        DAYS[0]: [
            page("dev-1", t(1, 9), anonymous_id="dev"),  # a device nobody logged in on yet
            known,
            identify("kiosk-1", t(1, 11), anonymous_id="kiosk", user_id="kiosk-A"),
            identify("late-1", t(1, 12), anonymous_id="late-a", user_id="late-u"),
            alias("alias-1", t(1, 13), "pv", "al-u"),  # pv: an anonymous id, until day 4
            identify("erase-1", t(1, 14), anonymous_id="erase-a", user_id="erase-u",
                     email="erase@example.com"),
            page("odd-1", t(1, 8), anonymous_id="odd-a"),
            page("lost-1", t(1, 15), anonymous_id="lost-a"),
            page("lost-2", t(1, 16), user_id="lost-u"),
            moved,
            # refusing analytics consent: they link nothing, but their identifiers find owners
            page("refuse-1", t(1, 18), anonymous_id="refuse-a", user_id="refuse-u",
                 analytics_consent=False),  # no owner until refuse-u logs in on day 4
            page("pref-1", t(1, 19), anonymous_id="pref-a", user_id="pref-u",
                 analytics_consent=False),  # pref-a's, until pref-u (preferred) is known
            page("pref-0", t(1, 20), anonymous_id="pref-a"),
            page("gone-1", t(1, 21), anonymous_id="gone-a", analytics_consent=False),
        ],
        DAYS[1]: [
            # received on day 2, happened 20 days before: late-a's first sighting, the anchor
            page("late-0", t(1, 12) - dt.timedelta(days=20), anonymous_id="late-a",
                 received_at=t(2, 8)),
            # erase-a is erase-u's: stay-u and their email are set aside from it (a conflict)
            identify("erase-2", t(2, 9), anonymous_id="erase-a", user_id="stay-u",
                     email="stay@example.com"),
            page("stay-1", t(2, 10), user_id="stay-u"),
            # a previousId outside an alias links nothing, but erasing erase-a erases this
            # message: odd-a keeps one message, though none of its identifiers is erased
            dict(page("odd-2", t(2, 12), anonymous_id="odd-a"), previousId="erase-a"),
            # the only link between lost-a and lost-u; gone when day 2 is reloaded
            identify(LOST_ON_RELOAD, t(2, 11), anonymous_id="lost-a", user_id="lost-u"),
            # gone-a's only linking message (gone-1 has an owner until day 2 is reloaded)
            page(GONE_ON_RELOAD, t(2, 13), anonymous_id="gone-a"),
        ],
        DAYS[2]: [
            dict(known, receivedAt="2026-06-03T07:00:00.000Z"),  # re-sent: a duplicate
            # an earlier-received copy with an email: move-1 moves to day 3, day 1 is reloaded
            dict(moved, receivedAt="2026-06-01T22:00:00.000Z",
                 traits={"email": "move@example.com"}),
            # a login on the old device: dev joins known-u's customer
            identify("dev-login", t(3, 9), anonymous_id="dev", user_id="known-u"),
            # a second user on the kiosk: a conflict that only day 3 creates
            identify("kiosk-2", t(3, 10), anonymous_id="kiosk", user_id="kiosk-B",
                     email="b@example.com"),
        ],
        DAYS[3]: [
            page("pv-1", t(4, 9), user_id="pv"),  # pv is a user id now: alias-1 is retyped
            page("dev-2", t(4, 10), anonymous_id="dev"),
            identify("refuse-login", t(4, 11), user_id="refuse-u"),
            identify("pref-login", t(4, 12), anonymous_id="pref-b", user_id="pref-u"),
        ],
        DAYS[4]: [
            page("known-2", t(5, 9), anonymous_id="known-a", user_id="known-u"),
            identify("kiosk-3", t(5, 10), anonymous_id="kiosk-2", user_id="kiosk-B"),
        ],
    }


def write_raw(raw: Path, by_day: dict[str, list[dict]]) -> None:
    for day, messages in by_day.items():
        write_dump(raw, day, messages)
    generate(raw / "generated", days=len(DAYS), customers=80, seed=9,
             start=dt.date.fromisoformat(DAYS[0]), malformed_rate=0.0)
    for day_dir in (raw / "generated").iterdir():
        assert day_dir.name in DAYS, day_dir
        day_dir.rename(raw / day_dir.name / "generated")


def prepare(warehouse: Path) -> None:
    """The privacy schema and key the ingestion asset creates (customer_360_pseudonymised)."""
    with connect(warehouse) as conn:
        privacy.ensure_privacy_schema(conn, SALT)


def erase(warehouse: Path, user_id: str) -> None:
    """`cdp forget --user-id`, then the erasure step every build runs before loading."""
    with connect(warehouse) as conn:
        privacy.record_request(conn, "user_id", user_id)
        report = privacy.apply_pending_erasures(conn)
    assert report.requests_completed == 1


def state(warehouse: Path) -> dict[str, Any]:
    return query(warehouse, f"select * from {STATE}").iloc[0].to_dict()


def tables(warehouse: Path) -> dict[str, pd.DataFrame]:
    """Every mart and the compared intermediates, without the per-build columns, sorted."""
    with connect(warehouse) as conn:
        marts = [f"marts.{name}" for (name,) in conn.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()]
    out = {}
    for name in [*sorted(set(marts) - BUILD_TABLES), *COMPARED_INTERMEDIATES]:
        frame = query(warehouse, f"select * from {name}")
        frame = frame.drop(columns=[c for c in BUILD_COLUMNS if c in frame.columns])
        out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("identity_incremental")
    raw = root / "raw"
    by_day = dumps()
    write_raw(raw, by_day)
    out: dict[str, Any] = {"states": {}}
    with pytest.MonkeyPatch.context() as env:
        env.setenv(privacy.SALT_ENV, SALT)
        daily = DbtProject(root / "daily" / "warehouse.duckdb", root / "daily")
        daily.warehouse.parent.mkdir(parents=True)
        prepare(daily.warehouse)
        out["assigned"] = {}
        for index, day in enumerate(DAYS):
            if day == DAYS[3]:
                # the day-2 dump is corrected without lost-3 and reloaded
                write_dump(raw, DAYS[1], [m for m in by_day[DAYS[1]] if m["messageId"]
                                          not in (LOST_ON_RELOAD, GONE_ON_RELOAD)])
                load_days(daily.warehouse, raw, [DAYS[1]])
            if day == DAYS[4]:
                erase(daily.warehouse, "erase-u")
            load_days(daily.warehouse, raw, [day])
            daily.build(select=[], extra=MODELS_ONLY if index < len(DAYS) - 1 else ())
            out["states"][day] = state(daily.warehouse)
            out["assigned"][day] = query(daily.warehouse, """
                select count(*) as rows, count(distinct assigned_at) as runs,
                    count(*) filter (where assigned_at = (select max(assigned_at)
                        from intermediate.int_identity__message_customers)) as rewritten
                from intermediate.int_identity__message_customers
            """).iloc[0].to_dict()
        out["daily"] = tables(daily.warehouse)
        # nothing new: nothing is resolved again
        daily.build(select=IDENTITY_ONLY, extra=MODELS_ONLY)
        out["rerun"] = state(daily.warehouse)

        full = DbtProject(root / "full" / "warehouse.duckdb", root / "full")
        full.warehouse.parent.mkdir(parents=True)
        prepare(full.warehouse)
        load_days(full.warehouse, raw, DAYS)
        full.build(select=[], extra=MODELS_ONLY)
        erase(full.warehouse, "erase-u")
        full.build(select=[], extra=MODELS_ONLY, full_refresh=True)
        out["full"] = tables(full.warehouse)
        out["full_state"] = state(full.warehouse)
    out["daily_project"] = daily
    return out


def test_every_mart_built_day_by_day_equals_a_full_rebuild(builds: dict[str, Any]) -> None:
    daily, full = builds["daily"], builds["full"]
    assert set(daily) == set(full)
    for name in ["marts.identity_graph", "marts.identity_conflicts", "marts.customer_360",
                 "marts.sessions", *COMPARED_INTERMEDIATES]:
        assert len(full[name]) > 0, name
    for name in full:
        pd.testing.assert_frame_equal(daily[name], full[name], check_exact=True, obj=name)


def test_each_day_resolves_only_the_components_it_touches(builds: dict[str, Any]) -> None:
    states = builds["states"]
    assert states[DAYS[0]]["mode"] == "full"
    assert states[DAYS[0]]["reason"] == "first build or --full-refresh"
    total = builds["full_state"]["messages_resolved"]
    for day in DAYS[1:]:
        assert states[day]["mode"] == "incremental", day
        assert 0 < states[day]["messages_resolved"] < total, day
    assert builds["rerun"]["mode"] == "incremental"
    assert builds["rerun"]["messages_resolved"] == 0


def test_each_day_assigns_only_some_owners_again(builds: dict[str, Any]) -> None:
    """The owners are incremental too: after the first day a build rewrites only part of
    int_identity__message_customers (the new day's messages and those carrying an identifier
    whose graph row changed)."""
    assigned = builds["assigned"]
    assert assigned[DAYS[0]]["runs"] == 1
    for day in DAYS[1:]:
        assert 0 < assigned[day]["rewritten"] < assigned[day]["rows"], (day, assigned[day])
        assert assigned[day]["runs"] > 1, day


def customer_of(graph: pd.DataFrame, identifier_type: str, value: str) -> str:
    row = graph[(graph.identifier_type == identifier_type) & (graph.identifier_value == value)]
    assert len(row) == 1, (identifier_type, value)
    return str(row.customer_id.iloc[0])


def test_the_cases_happened(builds: dict[str, Any]) -> None:
    """Guards against a vacuous comparison: each hand-made case left its mark."""
    graph = builds["full"]["marts.identity_graph"]
    conflicts = builds["full"]["marts.identity_conflicts"]
    identifiers = builds["full"]["intermediate.int_identity__message_identifiers"]
    # the late event is the anchor of late-u's customer
    late = graph[graph.identifier_value == "late-u"].iloc[0]
    assert (late.anchor_type, late.anchor_value) == ("anonymous_id", "late-a")
    # the old device joined the known user; the kiosk's second user was set aside
    assert customer_of(graph, "anonymous_id", "dev") == customer_of(graph, "user_id", "known-u")
    assert "kiosk-2" in set(conflicts.message_id)
    assert customer_of(graph, "user_id", "kiosk-B") != customer_of(graph, "user_id", "kiosk-A")
    # alias-1's previousId is typed as the user id it became
    pv = identifiers[identifiers.message_id == "alias-1"]
    assert ("user_id", "pv") in set(zip(pv.identifier_type, pv.identifier_value, strict=True))
    # the moved copy's email counts; the reloaded day lost the link between lost-a and lost-u
    assert customer_of(graph, "email", "move@example.com") == customer_of(graph, "user_id",
                                                                          "move-u")
    assert customer_of(graph, "anonymous_id", "lost-a") != customer_of(graph, "user_id",
                                                                       "lost-u")
    # the erased customer is gone; the customer set aside from it keeps what is left
    erased = {"erase-a", "erase-u", "erase@example.com", "stay@example.com"}
    assert erased.isdisjoint(graph.identifier_value)
    assert "user_id" in set(graph[graph.identifier_value == "stay-u"].identifier_type)
    odd = graph[graph.identifier_value == "odd-a"].iloc[0]
    assert (odd.messages, odd.last_seen_at) == (1, pd.Timestamp(t(1, 8)).tz_localize(None))
    # the refusing messages: owned by the user ids that entered the graph later; gone-1's
    # only identifier left the graph with the reloaded day's message
    owners = builds["full"]["intermediate.int_identity__message_customers"]
    owner = dict(zip(owners.message_id, zip(owners.customer_id, owners.resolved_by,
                                            strict=True), strict=True))
    assert owner["refuse-1"] == (customer_of(graph, "user_id", "refuse-u"), "user_id")
    assert owner["pref-1"] == (customer_of(graph, "user_id", "pref-u"), "user_id")
    assert customer_of(graph, "user_id", "pref-u") != customer_of(graph, "anonymous_id", "pref-a")
    assert "gone-1" not in owner
    assert "gone-a" not in set(graph.identifier_value)


def test_a_changed_user_id_limit_resolves_everything_again(builds: dict[str, Any]) -> None:
    project: DbtProject = builds["daily_project"]
    graph_sql = "select * from marts.identity_graph order by all"
    before = query(project.warehouse, graph_sql)
    build_parsed_with(project, {"max_user_ids_per_customer": 2}, select=IDENTITY_ONLY,
                      extra=MODELS_ONLY)
    relaxed, relaxed_state = query(project.warehouse, graph_sql), state(project.warehouse)
    assert (relaxed_state["mode"], relaxed_state["reason"]) == ("full", "rules changed")
    assert relaxed_state["max_user_ids_per_customer"] == 2
    # old data re-resolved: the kiosk's two users are one customer now
    assert customer_of(relaxed, "user_id", "kiosk-B") == customer_of(relaxed, "user_id",
                                                                     "kiosk-A")
    # the same as resolving everything from scratch at that limit
    build_parsed_with(project, {"max_user_ids_per_customer": 2}, select=IDENTITY_ONLY,
                      extra=[*MODELS_ONLY, "--full-refresh"])
    assert query(project.warehouse, graph_sql).equals(relaxed)
    # and back: the default limit resolves everything again, as before
    project.build(select=IDENTITY_ONLY, extra=MODELS_ONLY)
    assert state(project.warehouse)["reason"] == "rules changed"
    assert query(project.warehouse, graph_sql).equals(before)


def test_erasure_leaves_no_erased_identifier_in_the_state(builds: dict[str, Any]) -> None:
    """The components table is swept by erasure like every table with identifier_value; its
    component ids are hashes, so no row keeps an erased value."""
    project: DbtProject = builds["daily_project"]
    components = query(project.warehouse, """
        select * from intermediate.int_identity__resolution__components
    """)
    assert {"erase-a", "erase-u", "erase@example.com"}.isdisjoint(components.identifier_value)
    assert "stay-u" in set(components.identifier_value)
    assert all(isinstance(value, int) for value in components.component_id)


def test_a_changed_consent_category_rewrites_every_day_and_resolves_everything_again(
    builds: dict[str, Any],
) -> None:
    project: DbtProject = builds["daily_project"]
    graph_sql = "select * from marts.identity_graph order by all"
    before = query(project.warehouse, graph_sql)
    other = {"analytics_consent_category": "Marketing"}
    build_parsed_with(project, other, select=IDENTITY_ONLY, extra=MODELS_ONLY)
    changed = query(project.warehouse, graph_sql)
    rewritten = query(project.warehouse, """
        select count(distinct identified_at) as stamps, count(distinct rules_fingerprint) as rules
        from intermediate.int_identity__message_identifiers
    """).iloc[0]
    assert (rewritten.stamps, rewritten.rules) == (1, 1)  # every day written by this run
    assert state(project.warehouse)["reason"] == "rules changed"
    # the generator's refusals of Analytics no longer keep their messages out
    assert len(changed) > len(before)
    build_parsed_with(project, other, select=IDENTITY_ONLY,
                      extra=[*MODELS_ONLY, "--full-refresh"])
    assert query(project.warehouse, graph_sql).equals(changed)
    project.build(select=IDENTITY_ONLY, extra=MODELS_ONLY)
    assert query(project.warehouse, graph_sql).equals(before)
