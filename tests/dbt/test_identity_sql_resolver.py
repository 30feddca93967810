"""The portable SQL identity resolver gives exactly the rows of the Python resolver.

`int_identity__resolution` has two implementations, selected by the dbt var
`identity_resolver`: the Python model (orchestration/identity/warehouse.py and resolver.py; the
default on DuckDB) and the SQL model (macros/identity_resolution.sql; the default on Spark). One
warehouse holds every identity fixture at once, with disjoint identifiers, so each resolver is
built once per user-id limit:

* the Segment dumps of tests/dbt/test_identity_dbt.py (`support.identity_messages.scenario()`:
  chain, kiosk, junk, alias), loaded and staged like any day;
* generator data (orchestration/generator/, about 3,000 events, two shared kiosk browsers);
* the input frames of tests/unit/test_identity.py and tests/unit/test_identity_warehouse.py
  (the hand-made cases and random cases, support.identity_cases), each with its own prefix,
  written straight into intermediate.int_identity__message_identifiers, the resolvers' input.

Both resolvers are built on the same input and `int_identity__resolution`,
`marts.identity_graph` and `marts.identity_conflicts` are compared row for row, at the default
limit of one user id per customer and at two.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support.dbt_project import (
    DbtProject,
    build_parsed_with,
    connect,
    load_days,
    manifest_for,
    query,
    write_dump,
)
from support.identity_cases import BX, KIOSK, A, B, K, Message, frame, random_messages
from support.identity_messages import scenario

from orchestration.generator import generate

pytestmark = pytest.mark.slow

TABLES = (
    "intermediate.int_identity__resolution",
    "marts.identity_graph",
    "marts.identity_conflicts",
)
RESOLVER_SELECTION = ["int_identity__resolution", "identity_graph", "identity_conflicts"]
PYTHON = {"identity_resolver": "python"}
SQL = {"identity_resolver": "sql"}
UNIT_PREFIX = "unit"
GENERATOR_START = dt.date(2026, 4, 20)
MODELS_ONLY = ["--exclude-resource-type", "test", "unit_test"]
TANGLED_CASES = 300


def unit_fixtures() -> list[list[Message]]:
    """The rule tests' inputs (tests/unit/test_identity.py, in its original order) and seeded
    random cases (as the reference tests of tests/unit/test_identity_warehouse.py draw them)."""
    anon = [("anonymous_id", f"anon{i}") for i in (1, 2, 3)]
    email, user = ("email", "e@x"), ("user_id", "u1")
    k1, k2 = ("anonymous_id", "K1"), ("anonymous_id", "K2")
    phone = ("phone", "+100")
    cases: list[list[Message]] = [
        [("m1", 0, [anon[0], email]), ("m2", 1, [email, anon[1]]), ("m3", 2, [anon[1], user]),
         ("m4", 3, [user, anon[2]])],
        [("m1", 0, [("anonymous_id", "x")]), ("m2", 0, [("anonymous_id", "y")])],
        KIOSK,
        [("m1", 10, [K, A]), ("m2", 0, [K, B, BX])],
        [("m2", 0, [K, B]), ("m1", 0, [K, A])],
        [("m1", 0, [A, ("email", "shared@x")]), ("m2", 5, [B, ("email", "shared@x")])],
        [*KIOSK, ("m3", 20, [K, B, BX]), ("m4", 30, [BX, B, K])],
        [("m1", 0, [k1, A]), ("m2", 1, [k2, A]), ("m3", 2, [B, k1, k2])],
        [("m1", 0, [B, A])],
        [("m1", 0, [A, K]), ("m2", 1, [A, B, K])],
        [("m1", 0, [K, A]), ("m2", 1, [K, B]), ("m3", 2, [A, B, ("email", "new@x")])],
        [("m1", 0, [phone, A]), ("m2", 1, [phone, K, B])],
        [("m1", 0, [K, A]), ("m2", 5, [A, ("email", "a@x")])],
        [("m1", 0, [("anonymous_id", "k2"), ("anonymous_id", "k1")]),
         ("m2", 5, [("anonymous_id", "k1"), A])],
        [("x", 0, [("anonymous_id", "z")]), *KIOSK],
        [("m3", 30, [K]), ("m1", 0, [K, K, A]), ("m2", 0, [K])],  # a repeated identifier
        [*KIOSK, ("n1", 0, [("anonymous_id", "q"), ("user_id", "Q")]),
         ("n2", 1, [("anonymous_id", "q"), ("email", "q@x")]),
         ("n3", 2, [("anonymous_id", "lonely")])],
    ]
    rng = random.Random(7)
    cases.append(random_messages(rng, n_messages=60))  # shuffled-rows test
    rng = random.Random(11)
    cases.append(random_messages(rng, n_messages=80))
    rng = random.Random(3)
    cases += [random_messages(rng, n_messages=30) for _ in range(15)]
    for max_user_ids in (1, 2):  # the naive-reference test, both limits
        rng = random.Random(max_user_ids)
        cases += [random_messages(rng, n_messages=rng.randint(1, 40)) for _ in range(100)]
    return cases


def tangled_fixtures() -> list[list[Message]]:
    """Cases for the SQL resolver's rounds (macros/identity_resolution.sql, step 4): two that
    need its subtler hold-back rules, then random tangled graphs."""
    def anon(value: str) -> tuple[str, str]:
        return ("anonymous_id", value)

    cases: list[list[Message]] = [
        # m4 absorbs f into uh's customer and m5 absorbs w into a3's, all in one round; m6 then
        # joins the two, so at m7 a3 is already uh's: only a2 is set aside. m7 must wait for m6.
        [("m1", 0, [("user_id", "uh"), anon("a1")]), ("m2", 1, [("user_id", "ux"), anon("a2")]),
         ("m3", 2, [anon("a3"), anon("s2")]), ("m4", 3, [anon("a1"), anon("f")]),
         ("m5", 4, [anon("s2"), anon("w")]), ("m6", 5, [anon("f"), anon("w")]),
         ("m7", 6, [anon("a1"), anon("a2"), anon("a3")])],
        # m2 merges two new customers; m3 joins one of them to u0's customer, so at m4 a4 is
        # u0's and only u3 is set aside. m4 must wait for m3.
        [("m1", 0, [("user_id", "u0"), anon("a7"), ("email", "e2@x")]),
         ("m2", 2, [("email", "e3@x"), anon("a4")]),
         ("m3", 4, [anon("a0"), anon("a2"), anon("a7"), ("email", "e3@x")]),
         ("m4", 7, [anon("a4"), ("user_id", "u3"), ("user_id", "u0")])],
    ]
    rng = random.Random(2026)
    cases += [tangled_messages(rng, n_messages=rng.randint(1, 80)) for _ in range(TANGLED_CASES)]
    return cases


def tangled_messages(rng: random.Random, n_messages: int) -> list[Message]:
    """Random graphs shaped to stress the SQL resolver's rounds: few user ids, many anonymous
    ids linked to users and to each other (stars and chains), repeated sets, few distinct
    times (ties broken by message id)."""
    users = [("user_id", f"u{i}") for i in range(rng.randint(2, 6))]
    anons = [("anonymous_id", f"a{i}") for i in range(rng.randint(3, 30))]
    emails = [("email", f"e{i}@x") for i in range(rng.randint(1, 6))]
    pool = [*users, *anons, *emails, ("phone", "+100"), ("phone", "+101"), ("previous_id", "a1")]
    messages: list[Message] = []
    for i in range(n_messages):
        draw = rng.random()
        if draw < 0.3:
            identifiers = [rng.choice(users), rng.choice(anons)]
        elif draw < 0.5:
            identifiers = [rng.choice(anons), rng.choice(anons)]
        elif draw < 0.6 and messages:
            identifiers = list(rng.choice(messages)[2])
        else:
            identifiers = rng.sample(pool, rng.randint(1, 5))
        minutes = rng.choice([0, 0, 1, 2, 3, 5, 8, 13]) + rng.randrange(3) * 0.5
        messages.append((f"m{rng.randrange(1000):03d}-{i}", minutes, identifiers))
    return messages


def unit_rows() -> pd.DataFrame:
    """All unit fixtures as resolver input rows; fixture i prefixes its ids with unitNNNN-."""
    frames = []
    for i, messages in enumerate([*unit_fixtures(), *tangled_fixtures()]):
        rows = frame(messages)
        prefix = f"{UNIT_PREFIX}{i:04d}-"
        rows["message_id"] = prefix + rows["message_id"].astype(str)
        rows["identifier_value"] = prefix + rows["identifier_value"].astype(str)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def snapshot(warehouse: Path) -> dict[str, pd.DataFrame]:
    return {table: query(warehouse, f"select * from {table} order by all") for table in TABLES}


def assert_identical(python: dict[str, pd.DataFrame], sql: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        expected, got = python[table], sql[table]
        assert list(got.columns) == list(expected.columns), table
        assert len(got) == len(expected), (table, len(got), len(expected))
        if not got.equals(expected):
            differs = (expected.ne(got) & ~(expected.isna() & got.isna())).any(axis=1)
            raise AssertionError(f"{table} differs:\npython\n{expected[differs].head()}\n"
                                 f"sql\n{got[differs].head()}")


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One warehouse, every fixture; the three tables built by each resolver at each limit."""
    tmp = tmp_path_factory.mktemp("identity-sql")
    raw, warehouse = tmp / "raw", tmp / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    stats = generate(raw, days=6, customers=250, seed=5, start=GENERATOR_START,
                     malformed_rate=0.0)
    write_dump(raw, "2026-05-04", scenario())
    load_days(warehouse, raw, sorted(p.name for p in raw.iterdir()))
    project = DbtProject(warehouse=warehouse, work_dir=tmp / "dbt")
    # the resolvers' input: staged dumps, then the unit fixtures appended
    project.run("build", select=["+int_identity__message_identifiers"],
                extra=MODELS_ONLY)
    units = unit_rows()
    with connect(warehouse) as conn:
        conn.register("unit_rows", units)
        conn.execute("insert into intermediate.int_identity__message_identifiers "
                     "by name select message_id, event_at, identifier_type, identifier_value "
                     "from unit_rows")
    out: dict[str, Any] = {"warehouse": warehouse, "project": project, "events": stats.events,
                           "unit_rows": len(units)}
    for limit in (1, 2):
        for name, parse_vars, run_vars in (
            # the Python model reads the limit from its config, set when dbt parses
            ("python", {**PYTHON, "max_user_ids_per_customer": limit} if limit != 1 else {},
             None),
            # the SQL model reads the var when it runs
            ("sql", SQL, {"max_user_ids_per_customer": limit}),
        ):
            # models only: the unit fixtures do not pass the marts' data tests (identifier
            # types outside the accepted ones, a repeated identifier on one message)
            result = build_parsed_with(project, parse_vars, select=RESOLVER_SELECTION,
                                       variables=run_vars, extra=MODELS_ONLY)
            out[(name, limit)] = snapshot(warehouse)
            out[("built_from", name, limit)] = {
                r.node.original_file_path.rsplit(".", 1)[-1]
                for r in result.result.results if r.node.name == "int_identity__resolution"
            }
            if name == "sql":
                out[("work_tables", limit)] = query(
                    warehouse, "select table_name from duckdb_tables() "
                               "where table_name like 'int_identity__resolution__w_%'")
    return out


def subset(frames: dict[str, pd.DataFrame], keep: Any) -> dict[str, pd.DataFrame]:
    """The rows of each table whose identifier (or message) passes `keep`."""
    return {table: frame_[frame_.apply(keep, axis=1)].reset_index(drop=True)
            for table, frame_ in frames.items()}


def is_generated(row: pd.Series) -> bool:
    return str(row.get("message_id") or row.get("first_message_id") or "").startswith("msg-")


def is_unit(row: pd.Series) -> bool:
    return str(row["identifier_value"]).startswith(UNIT_PREFIX)


def test_the_default_resolver_on_duckdb_is_the_python_model_and_the_var_selects_sql(builds):
    project = builds["project"]
    node = "model.cdp.int_identity__resolution"
    assert manifest_for(project, {}).nodes[node].language == "python"
    assert manifest_for(project, SQL).nodes[node].language == "sql"
    assert manifest_for(project, SQL).nodes[node].original_file_path.endswith(
        "int_identity__resolution.sql")


@pytest.mark.parametrize("limit", [1, 2])
def test_sql_resolver_gives_the_python_rows_on_every_fixture(builds, limit):
    assert builds[("built_from", "python", limit)] == {"py"}
    assert builds[("built_from", "sql", limit)] == {"sql"}
    assert_identical(builds[("python", limit)], builds[("sql", limit)])


def test_every_fixture_group_exercises_merge_protection(builds):
    """Guards against a vacuous comparison: each group has customers and conflicts."""
    graph = builds[("python", 1)]["marts.identity_graph"]
    conflicts = builds[("python", 1)]["marts.identity_conflicts"]
    assert len(graph) > 3_000 and builds["unit_rows"] > 5_000
    conflict_ids = set(conflicts.message_id)
    assert {"kiosk-3", "kiosk-4"} <= conflict_ids  # the dumps of test_identity_dbt
    assert any(m.startswith("msg-") for m in conflict_ids)  # the generator's kiosks
    assert sum(m.startswith(UNIT_PREFIX) for m in conflict_ids) > 100
    # two user ids per customer: the kiosks merge, far fewer conflicts remain
    assert len(builds[("python", 2)]["marts.identity_conflicts"]) < len(conflicts)
    assert not set(builds[("python", 2)]["marts.identity_conflicts"].message_id) & {
        "kiosk-3", "kiosk-4"}


def test_sql_resolver_gives_the_python_rows_on_generator_data(builds):
    assert 2_000 < builds["events"] < 5_000
    python = subset(builds[("python", 1)], is_generated)
    sql = subset(builds[("sql", 1)], is_generated)
    assert len(python["marts.identity_graph"]) > 500
    assert len(python["marts.identity_conflicts"]) > 0
    assert_identical(python, sql)


def test_sql_resolver_gives_the_python_rows_on_the_unit_fixtures(builds):
    for limit in (1, 2):
        python = subset(builds[("python", limit)], is_unit)
        assert len(python["marts.identity_graph"]) > 1_000
        assert_identical(python, subset(builds[("sql", limit)], is_unit))


def test_sql_resolver_drops_its_work_tables(builds):
    for limit in (1, 2):
        assert builds[("work_tables", limit)].empty
