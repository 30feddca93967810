"""Tests follow the change: with CDP_TEST_DAYS set (a nightly build names the days it loaded),
a generic test on a model with received days reads only those days' rows; the grain of
raw.events (tagged `whole_table`), tests of models without received days and every test of a
run without the variable read every row (dbt_project/macros/test_scope.sql).

Two received days are loaded and staged; then day 1 of raw.events is broken behind dbt's back,
and the same tests run with and without the scope.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

import pytest
from support.dbt_project import DbtProject, connect, load_days, message, write_dump

from orchestration import settings

DAYS = ["2024-05-01", "2024-05-02"]
UNIQUE_PAGE = "unique_stg_events__pages_message_id"
RAW_GRAIN = "source_unique_raw_events_message_id"
RAW_TYPES = "source:raw.events,test_name:accepted_values"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    work = tmp_path_factory.mktemp("test_scope")
    raw = work / "raw"
    for number, day in enumerate(DAYS, start=1):
        at = dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=dt.UTC)
        write_dump(raw, day, [
            message("page", f"p{number}", at, anonymous_id=f"a{number}", path="/"),
            message("track", f"t{number}", at, anonymous_id=f"a{number}", event="Clicked"),
        ])
    dbt = DbtProject(warehouse=work / "warehouse.duckdb", work_dir=work)
    load_days(dbt.warehouse, raw, DAYS)
    dbt.build(select=["+stg_events__pages"], extra=["--exclude-resource-type", "test"])
    return dbt


@pytest.fixture
def tested_days(request: pytest.FixtureRequest) -> Iterator[list[str] | None]:
    settings.scope_dbt_tests(request.param)
    yield request.param
    settings.scope_dbt_tests(None)


def run_test(project: DbtProject, name: str) -> None:
    project.run("test", select=[name])


@pytest.fixture(scope="module")
def broken(project: DbtProject) -> DbtProject:
    """Day 1 of raw.events (staging reads it through views) now holds page p1 twice and a
    message of an unknown type: the three tests below fail over every row."""
    with connect(project.warehouse) as conn:
        conn.execute("""
            insert into raw.events by name
            select * from raw.events where message_id = 'p1';
            insert into raw.events by name
            select * replace ('t1-copy' as message_id, 'bogus' as type)
            from raw.events where message_id = 't1';
        """)
    return project


@pytest.mark.parametrize("tested_days", [[DAYS[1]]], indirect=True)
def test_a_nightly_scope_reads_only_the_days_it_names(broken, tested_days):
    run_test(broken, UNIQUE_PAGE)
    run_test(broken, RAW_TYPES)


@pytest.mark.parametrize("tested_days", [[DAYS[1]]], indirect=True)
def test_the_grain_of_raw_events_is_checked_over_every_day_whatever_the_scope(
    broken, tested_days
):
    with pytest.raises(AssertionError, match=RAW_GRAIN):
        run_test(broken, RAW_GRAIN)


@pytest.mark.parametrize("tested_days", [[DAYS[0]], None], indirect=True)
def test_a_scope_naming_the_broken_day_or_no_scope_finds_the_broken_rows(broken, tested_days):
    with pytest.raises(AssertionError, match=UNIQUE_PAGE):
        run_test(broken, UNIQUE_PAGE)
    with pytest.raises(AssertionError, match="source_accepted_values_raw_events_type"):
        run_test(broken, RAW_TYPES)


def test_scope_dbt_tests_sets_and_clears_the_variable(monkeypatch):
    monkeypatch.delenv(settings.TEST_DAYS_ENV, raising=False)
    settings.scope_dbt_tests(["2024-05-01", "2024-05-02"])
    assert os.environ[settings.TEST_DAYS_ENV] == "2024-05-01,2024-05-02"
    settings.scope_dbt_tests([])
    assert settings.TEST_DAYS_ENV not in os.environ


@pytest.mark.parametrize("tested_days", [[DAYS[1]]], indirect=True)
@pytest.mark.parametrize("singular", [
    "assert_identity_fully_converged", "assert_session_events_all_sessionized",
])
def test_singular_tests_over_received_days_read_the_scoped_days(project, tested_days, singular):
    project.run("compile", select=[singular])
    compiled = next((project.work_dir / "target" / "compiled").rglob(f"{singular}.sql"))
    assert f"received_date in (cast('{DAYS[1]}' as date))" in compiled.read_text()
