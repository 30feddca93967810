"""bench/report.py: the benchmark tables of README.md and docs/benchmarks.md, rendered from
the saved results, so the pages cannot drift from them."""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from orchestration.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "bench" / "report.py"
spec = importlib.util.spec_from_file_location("bench_report", SCRIPT)
report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(report)


def build(seconds: float, models: dict[str, float], load: float) -> dict[str, Any]:
    tests = {"count": 282, "data": 40.0, "unit": 5.0, "python_checks": 1.0,
             "slowest": {"not_null_sessions_session_id.abc": 3.0}}
    stages = {"startup": 11.0, "load": load, "models": sum(models.values()), "seeds": 0.5,
              "tests": 46.0, "publish": 30.0, "audiences": 4.0}
    stages["other"] = seconds - sum(stages.values())
    return {"seconds": seconds, "peak_rss_mb": 3000.0, "events": 1_000_000, "load_seconds": load,
            "stages": stages, "models": models, "tests": tests}


SAMPLE: dict[str, Any] = {
    "stamp": "2026-12-01T10-00-00", "commit": "abc1234", "profile": "standard",
    "machine": {"cpus": 2, "python": "3.11.7", "duckdb": "2.0.1"},
    "events": 10_000_000, "days": 30,
    "floor": {"seconds": 100.0, "rows": 9_600_000},
    "full": build(700.0, {"int_sessions__sessionized": 110.0, "stg_events__pages": 40.0,
                          "sessions": 12.0}, 150.0),
    "incremental": build(280.0, {"int_sessions__sessionized": 17.0, "stg_events__pages": 2.0,
                                 "sessions": 11.0}, 7.0),
    "identity": {"seconds": 28.0, "peak_rss_mb": 5000.0, "peak_rss_resolve_mb": 2300.0,
                 "links": 10_000_000},
    "ratios": {"full_over_floor": 7.0, "incremental_over_full": 0.4},
}
SAMPLE["full"]["events"] = 9_800_000
SAMPLE["incremental"]["events"] = 530_000


def test_a_build_with_nothing_new_is_shown_against_its_target_when_measured() -> None:
    assert not any("nothing new" in line for line in
                   report.render_result("old.json", SAMPLE).splitlines())  # older results
    skipped = {**copy.deepcopy(SAMPLE),
               "nothing_new": {"seconds": 4.2, "peak_rss_mb": 200.0, "skipped_dbt": True}}
    assert "| build with nothing new (dbt skipped: yes) | 4.2 s | 0.2 GiB | ≤ 15 s | yes |" \
        in report.render_result("new.json", skipped).splitlines()
    ran = copy.deepcopy(skipped)
    ran["nothing_new"].update(seconds=3.0, skipped_dbt=False)  # fast but did not skip: not met
    assert "| build with nothing new (dbt skipped: no) | 3.0 s | 0.2 GiB | ≤ 15 s | **no** |" \
        in report.render_result("new.json", ran).splitlines()


def test_renders_the_steps_and_where_the_time_went_from_a_result() -> None:
    text = report.render_result("2026-12-01T10-00-00.json", SAMPLE)
    lines = text.splitlines()
    assert lines[0].startswith("**standard traffic**: 10 M events over 30 days (+1 day, 530 k")
    assert "commit `abc1234`" in lines[0] and "`bench/results/2026-12-01T10-00-00.json`" in lines[0]
    assert "full / floor 7.00×, incremental / full 40.0 %" in lines[0]
    assert "| full build, empty warehouse | 700.0 s (14 k events/s) | 2.9 GiB | ≤ 3× floor | " \
           "**no**: 7.0× |" in lines
    assert "| identity resolution alone, 10 M links | 28.0 s | 2.2 GiB | ≤ 60 s | yes |" in lines
    assert "| load (`raw.load_log`) | 150.0 s (21 %) | 7.0 s (2 %) |" in lines
    assert "| dbt models (3; staging: 1, 40.0 s) | 162.5 s (23 %) | 30.5 s (11 %) |" in lines
    models = [line.split("`")[1] for line in lines if line.startswith("| · `")]
    assert models == ["int_sessions__sessionized", "stg_events__pages", "sessions"]  # slowest first
    assert any(line.startswith("| dbt tests (282; slowest `not_null_sessions_session_id.abc` "
                               "3.0 s) and Python checks | 46.0 s") for line in lines)
    for label in ("start-up", "publish", "audience exports", "other"):
        assert any(line.startswith(f"| {label}") for line in lines), label
    assert lines[-1] == "| wall | 700.0 s | 280.0 s |"


def test_results_saved_before_the_stage_split_show_what_they_hold() -> None:
    legacy = copy.deepcopy(SAMPLE)
    for phase in ("full", "incremental"):
        for key in ("stages", "models", "tests"):
            del legacy[phase][key]
        legacy[phase]["dbt_seconds"] = 500.0 if phase == "full" else 200.0
        legacy[phase]["slowest"] = {"int_sessions__sessionized": 110.0}
    del legacy["profile"], legacy["commit"]
    lines = report.render_result("old.json", legacy).splitlines()
    assert lines[0].startswith("**standard traffic**") and "commit" not in lines[0]
    assert "| dbt: models, tests, start (not split in this result) | 500.0 s (71 %) | " \
           "200.0 s (71 %) |" in lines
    assert "| start-up: process to the load, dbt's start and parse | – | – |" in lines
    assert "| other | 50.0 s (7 %) | 73.0 s (26 %) |" in lines


def test_the_newest_result_of_each_profile_is_rendered_standard_first() -> None:
    older = {**SAMPLE, "stamp": "2026-11-01T10-00-00"}
    light = {**SAMPLE, "profile": "light", "stamp": "2026-11-15T10-00-00"}
    section = report.render({"a.json": light, "b.json": SAMPLE, "c.json": older})
    assert section.startswith(report.BEGIN) and section.endswith(report.END)
    assert section.index("**standard traffic**") < section.index("**light traffic**")
    assert "`bench/results/b.json`" in section and "c.json" not in section


def test_the_readme_summary_has_one_row_per_profile_against_the_targets() -> None:
    light = {**SAMPLE, "profile": "light", "stamp": "2026-11-15T10-00-00"}
    section = report.render_summary({"a.json": light, "b.json": SAMPLE})
    rows = [line for line in section.splitlines() if line.startswith("| standard") or
            line.startswith("| light")]
    assert [row.split(",")[0] for row in rows] == ["| standard", "| light"]
    assert "| 100.0 s | 700.0 s = 7.0× floor (target ≤ 3×) | 280.0 s = 40.0 % of full (≤ 8 %) " \
        "| – (≤ 15 s) | – (not measured) | 2.9 GiB (≤ 3.0 GiB) | `bench/results/b.json` |" \
        in rows[0]


def test_the_exactness_comparison_and_next_day_identity_are_reported_against_their_targets():
    exact = {"rebuild_seconds": 650.0, "tables": 14, "differing_rows": 3,
             "left_out": ["audience_sizes"], "by_table": {}}
    measured = {**SAMPLE, "exactness": exact,
                "incremental": {**SAMPLE["incremental"],
                                "models": {"int_identity__resolution": 2.5}}}
    summary = report.render_summary({"b.json": measured})
    assert "| 3 differing rows in 14 marts (target 0) |" in summary
    page = report.render({"b.json": measured})
    assert "| 650.0 s | – | 0 differing rows | **no**: 3 rows |" in page
    assert "(`int_identity__resolution` in the incremental build) | 2.5 s | – | ≤ 3 s | yes |" \
        in page


def test_only_the_section_between_the_markers_is_replaced() -> None:
    page = f"# Title\n\nbefore\n\n{report.BEGIN}\nold table\n{report.END}\n\nafter\n"
    assert report.replace_section(page, "NEW") == "# Title\n\nbefore\n\nNEW\n\nafter\n"
    with pytest.raises(ValueError):
        report.replace_section("no markers here", "NEW")


@pytest.mark.parametrize("page", report.PAGES, ids=lambda p: Path(p).name)
def test_the_pages_show_what_the_committed_results_render(page: Path) -> None:
    """README.md and docs/benchmarks.md hold exactly the rendered section: after saving a
    result, run `uv run python bench/report.py` (and delete small check runs' results)."""
    section = report.PAGES[page](report.load_results())
    text = page.read_text()
    assert report.replace_section(text, section) == text
