"""Identity resolution through dbt on hand-made dumps: the guarantees of the identity issue.

Each scenario is a handful of Segment messages written as JSON-lines dumps, loaded with the
real loader and built with dbt (staging -> edges -> resolver -> marts, with every dbt test,
including the convergence test), then checked exactly.
"""

import hashlib
import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest
from support.dbt_project import DbtProject, load_days, query, write_dump
from support.identity_messages import scenario

pytestmark = pytest.mark.slow

IDENTITY_SELECTION = ["+customer_360", "+identity_conflicts", "+int_identity__edges"]


def build(tmp: Path, name: str, days: dict[str, list[dict]], *, incremental: bool = False,
          variables: dict | None = None) -> Path:
    """Write the dumps, load them and build; day by day (with a dbt run per day) if asked."""
    raw, warehouse = tmp / f"{name}-raw", tmp / f"{name}-wh" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    for day, messages in days.items():
        write_dump(raw, day, messages)
    project = DbtProject(warehouse=warehouse, work_dir=tmp / f"{name}-dbt")
    if incremental:
        for day in sorted(days):
            load_days(warehouse, raw, [day])
            project.build(select=IDENTITY_SELECTION, variables=variables)
    elif variables:
        # vars that change a model's config (the resolver's user-id limit) need dbt to parse
        # with them, as a Dagster run does: no cached manifest
        load_days(warehouse, raw, sorted(days))
        project._invoke(["build", *project._common_args(), "--indirect-selection", "cautious",
                         "--select", *IDENTITY_SELECTION, "--vars", json.dumps(variables)])
    else:
        load_days(warehouse, raw, sorted(days))
        project.build(select=IDENTITY_SELECTION)
    return warehouse


def customers_of(warehouse: Path) -> dict[str, set[str]]:
    graph = query(warehouse, "select * from marts.identity_graph")
    out: dict[str, set[str]] = {}
    for row in graph.to_dict("records"):
        out.setdefault(row["customer_id"], set()).add(
            f"{row['identifier_type']}:{row['identifier_value']}"
        )
    return out


def customer_holding(warehouse: Path, identifier: str) -> set[str]:
    for members in customers_of(warehouse).values():
        if identifier in members:
            return members
    raise AssertionError(f"{identifier} is in no customer")


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("identity"), "full", {"2026-05-04": scenario()})


def test_four_hop_chain_is_one_customer(full):
    assert customer_holding(full, "user_id:chain-u") == {
        "anonymous_id:chain-a1", "anonymous_id:chain-a2", "anonymous_id:chain-a3",
        "email:chain@example.com", "user_id:chain-u",
    }


def test_kiosk_shared_by_two_users_stays_with_the_first_and_writes_a_conflict(full):
    assert customer_holding(full, "user_id:kiosk-A") == {
        "anonymous_id:kiosk", "user_id:kiosk-A", "email:a@kiosk.example"}
    assert customer_holding(full, "user_id:kiosk-B") == {
        "user_id:kiosk-B", "email:b@kiosk.example"}
    conflicts = query(full, "select * from marts.identity_conflicts order by message_id")
    assert conflicts[["message_id", "rule", "identifier_type", "identifier_value",
                      "conflicting_identifier_type", "conflicting_identifier_value"]
                     ].values.tolist() == [
        ["kiosk-3", "max_user_ids_per_customer", "anonymous_id", "kiosk", "user_id", "kiosk-B"],
        ["kiosk-4", "max_user_ids_per_customer", "anonymous_id", "kiosk", "user_id", "kiosk-B"],
    ]


def test_messages_with_a_user_id_belong_to_that_users_customer(full):
    owners = query(full, """
        select m.message_id, c.user_id
        from intermediate.int_identity__message_customers m
        join marts.customer_360 c using (customer_id)
        where m.message_id like 'kiosk-%' order by 1
    """)
    assert owners.values.tolist() == [
        ["kiosk-1", "kiosk-A"], ["kiosk-2", "kiosk-A"],
        ["kiosk-3", "kiosk-B"], ["kiosk-4", "kiosk-B"],
    ]


def test_junk_emails_and_user_ids_link_nothing_and_are_counted(full):
    assert customer_holding(full, "anonymous_id:junk-a1") == {"anonymous_id:junk-a1"}
    assert customer_holding(full, "anonymous_id:junk-a2") == {"anonymous_id:junk-a2"}
    junk = query(full, """
        select identifier_type, count(*) as n from staging.stg_events__identifiers
        where is_junk group by 1 order by 1
    """)
    assert junk.values.tolist() == [["email", 2], ["user_id", 2]]


def test_alias_joins_the_browser_to_the_user(full):
    assert customer_holding(full, "user_id:alias-u") == {
        "anonymous_id:alias-a", "user_id:alias-u", "email:alias@example.com"}
    c360 = query(full, "select name, email, anonymous_ids from marts.customer_360 "
                       "where user_id = 'alias-u'")
    assert c360.values.tolist() == [["Al Ias", "alias@example.com", 1]]


def test_customer_id_is_derived_from_the_earliest_seen_identifier(full):
    graph = query(full, "select * from marts.identity_graph where is_anchor")
    for row in graph.to_dict("records"):
        digest = hashlib.sha256(f"{row['anchor_type']}:{row['anchor_value']}".encode())
        assert row["customer_id"] == "c_" + digest.hexdigest()[:20]
    # chain-a1 was seen first (a page view before any login)
    chain = query(full, "select distinct anchor_type, anchor_value from marts.identity_graph "
                        "where identifier_value = 'chain-u'")
    assert chain.values.tolist() == [["anonymous_id", "chain-a1"]]


def test_shuffled_files_and_another_split_into_days_give_identical_output(full, tmp_path):
    messages = scenario()
    random.Random(7).shuffle(messages)
    # the same messages, received over three days in three files each, in another order
    days: dict[str, list[dict]] = {}
    for i, msg in enumerate(messages):
        day = f"2026-05-0{4 + i % 3}"
        msg = json.loads(json.dumps(msg))
        msg["receivedAt"] = f"{day}T23:00:00.000Z"
        days.setdefault(day, []).append(msg)
    other = build(tmp_path, "shuffled", days)
    for table in ("marts.identity_graph", "marts.identity_conflicts"):
        sql = f"select * from {table} order by all"
        assert query(other, sql).equals(query(full, sql)), table


def test_day_by_day_incremental_builds_equal_a_full_rebuild(full, tmp_path):
    messages = scenario()
    days: dict[str, list[dict]] = {}
    for msg in messages:
        # received in three batches: each case's later messages arrive on later days
        day = {"1": "2026-05-04", "2": "2026-05-05"}.get(msg["messageId"][-1], "2026-05-06")
        msg = json.loads(json.dumps(msg))
        msg["receivedAt"] = f"{day}T23:00:00.000Z"
        days.setdefault(day, []).append(msg)
    incremental = build(tmp_path, "daily", days, incremental=True)
    for table in ("marts.identity_graph", "marts.identity_conflicts", "marts.customer_360"):
        columns = "* exclude (days_since_last_seen)" if table.endswith("360") else "*"
        sql = f"select {columns} from {table} order by all"
        assert query(incremental, sql).equals(query(full, sql)), table


def test_raising_the_user_id_limit_re_resolves_old_data(tmp_path):
    relaxed = build(tmp_path, "relaxed", {"2026-05-04": scenario()},
                    variables={"max_user_ids_per_customer": 2})
    assert customer_holding(relaxed, "user_id:kiosk-B") == {
        "anonymous_id:kiosk", "user_id:kiosk-A", "email:a@kiosk.example",
        "user_id:kiosk-B", "email:b@kiosk.example"}
    assert query(relaxed, "select count(*) as n from marts.identity_conflicts").n[0] == 0


def test_cdp_explain_prints_every_identifier_and_the_message_linking_it_to_the_anchor(full):
    from click.testing import CliRunner

    from orchestration.cli import main

    result = CliRunner().invoke(
        main, ["explain", "--email", " CHAIN@example.com", "--warehouse", str(full), "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["anchor_type"], report["anchor_value"]) == ("anonymous_id", "chain-a1")
    paths = {i["identifier_value"]: [h["message_id"] for h in i["path"]]
             for i in report["identifiers"]}
    # each identifier walks the accepted links back to chain-a1, naming the messages
    assert paths == {
        "chain-a1": [],
        "chain@example.com": ["chain-1"],
        "chain-a2": ["chain-2", "chain-1"],
        "chain-u": ["chain-3", "chain-2", "chain-1"],
        "chain-a3": ["chain-4", "chain-3", "chain-2", "chain-1"],
    }
    junk = CliRunner().invoke(main, ["explain", "--user-id", "undefined",
                                     "--warehouse", str(full)])
    assert junk.exit_code == 1 and "junk" in junk.output.lower()


def test_edges_view_gives_each_pair_once_with_its_first_message(full):
    edges = query(full, """
        select a_type, a_value, b_type, b_value, first_message_id, messages
        from intermediate.int_identity__edges
        where 'kiosk' in (a_value, b_value)
        order by b_type, b_value, a_type, a_value
    """)
    # kiosk-1 and kiosk-2 both carry (kiosk, kiosk-A): one row, the earlier message named
    assert edges.values.tolist() == [
        ["anonymous_id", "kiosk", "email", "a@kiosk.example", "kiosk-1", 1],
        ["anonymous_id", "kiosk", "email", "b@kiosk.example", "kiosk-3", 1],
        ["anonymous_id", "kiosk", "user_id", "kiosk-A", "kiosk-1", 2],
        ["anonymous_id", "kiosk", "user_id", "kiosk-B", "kiosk-3", 2],
    ]
    duplicated = query(full, """
        select count(*) as n from (
            select a_type, a_value, b_type, b_value from intermediate.int_identity__edges
            group by all having count(*) > 1)
    """)
    assert duplicated.n[0] == 0


def test_convergence_test_fails_when_one_message_spans_two_customers(full, tmp_path):
    broken = tmp_path / "broken" / full.name
    broken.parent.mkdir()
    shutil.copy(full, broken)
    with duckdb.connect(str(broken)) as conn:  # chain-a3 torn from the chain (message chain-4)
        conn.execute("update marts.identity_graph set customer_id = 'c_torn' "
                     "where identifier_value = 'chain-a3'")
    project = DbtProject(warehouse=broken, work_dir=tmp_path / "dbt")
    with pytest.raises(AssertionError, match="assert_identity_fully_converged"):
        project.run("test", select=["assert_identity_fully_converged"])
