"""Render the benchmark tables of README.md and docs/benchmarks.md from bench/results/.

    uv run python bench/report.py            # rewrite the sections between the markers
    uv run python bench/report.py --check    # exit 1 if a section differs from the results

The README gets one row per traffic profile against the targets (`render_summary`). In
docs/benchmarks.md, for each traffic profile, the newest result in bench/results/*.json (by
its stamp) becomes two tables: the steps against their targets (floor, full build, incremental
build, identity resolution, peak memory) and where each build's time went (start-up, load,
the staging and other dbt models with the slowest by name, tests, publishing, audience
exports, the rest).
Results saved before bench/run.py split the stages (no `stages` key) show what they hold:
the load, dbt's total and its slowest models. The text between BEGIN and END in each page is
replaced; everything else is left alone. tests/unit/test_bench_report.py fails when a page
differs from what this script renders, so the tables cannot drift from the results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
BENCHMARKS_PAGE = ROOT / "docs" / "benchmarks.md"
BEGIN = "<!-- bench-report:begin (bench/report.py renders this from bench/results/) -->"
END = "<!-- bench-report:end -->"
PROFILE_ORDER = ("standard", "light")
TOP_MODELS = 6
# The targets of issues #17 (full build) and #18 (nightly build), and the identity and memory
# budgets.
FULL_OVER_FLOOR = 3.0
INCREMENTAL_OVER_FULL = 0.08
NOTHING_NEW_SECONDS = 15.0
IDENTITY_SECONDS = 60.0
IDENTITY_NEXT_DAY_SECONDS = 3.0  # issue #18: identity for one day's new links
IDENTITY_MODEL = "int_identity__resolution"
PEAK_MB = 3072.0  # issue #17: peak ≤ 3 GB at 10 M events
DASH = "–"


def load_results(folder: Path = RESULTS) -> dict[str, dict[str, Any]]:
    """Every saved result by file name."""
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


def newest_per_profile(results: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, Mapping]]:
    """(file name, result) of the newest result of each profile, standard first."""
    newest: dict[str, tuple[str, Mapping]] = {}
    for name, result in sorted(results.items(), key=lambda item: item[1]["stamp"]):
        if result.get("engine", "duckdb") == "duckdb":  # Spark results have their own shape
            newest[result.get("profile", "standard")] = (name, result)
    order = {p: i for i, p in enumerate(PROFILE_ORDER)}
    return [newest[p] for p in sorted(newest, key=lambda p: (order.get(p, len(order)), p))]


def _count(n: float) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.3g} M"
    return f"{n / 1_000:.3g} k" if n >= 1_000 else str(int(n))


def _s(seconds: float | None) -> str:
    return DASH if seconds is None else f"{seconds:.1f} s"


def _gb(mb: float) -> str:
    """bench/run.py's MB are MiB (2**20 bytes)."""
    return f"{mb / 1024:.1f} GiB"


def _share(seconds: float | None, wall: float) -> str:
    if seconds is None:
        return DASH
    return f"{seconds:.1f} s ({100 * seconds / wall:.0f} %)" if wall else _s(seconds)


def stage_view(build: Mapping[str, Any]) -> dict[str, Any]:
    """A build's stages in one shape, whether or not the result split them (None: unknown)."""
    wall = float(build["seconds"])
    stages = build.get("stages")
    if stages is None:  # saved before the split: the load, dbt's total, its slowest models
        dbt = build.get("dbt_seconds")
        load = build.get("load_seconds")
        return {"wall": wall, "startup": None, "load": load, "models": build.get("slowest", {}),
                "models_total": None, "models_count": None, "staging_total": None,
                "staging_count": None, "dbt_unsplit": dbt, "tests": None, "tests_count": None,
                "slowest_test": None, "publish": None, "audiences": None,
                "other": wall - (load or 0.0) - (dbt or 0.0)}
    models = build.get("models", {})
    staging = {k: v for k, v in models.items() if k.startswith("stg_")}
    tests = build.get("tests", {})
    slowest_test = next(iter((tests.get("slowest") or {}).items()), None)
    return {"wall": wall, "startup": stages["startup"], "load": stages["load"],
            "models": models, "models_total": stages["models"] + stages.get("seeds", 0.0),
            "models_count": len(models), "staging_total": sum(staging.values()),
            "staging_count": len(staging), "dbt_unsplit": None, "tests": stages["tests"],
            "tests_count": tests.get("count"), "slowest_test": slowest_test,
            "publish": stages["publish"], "audiences": stages["audiences"],
            "other": stages["other"]}


def _steps_table(result: Mapping[str, Any]) -> list[str]:
    floor, full, inc, ident = (result[k] for k in ("floor", "full", "incremental", "identity"))
    over_floor = full["seconds"] / floor["seconds"]
    over_full = inc["seconds"] / full["seconds"]
    peak = max(full["peak_rss_mb"], inc["peak_rss_mb"])
    ident_peak = ident.get("peak_rss_resolve_mb", ident["peak_rss_mb"])
    rate = full["events"] / full["seconds"]

    def met(ok: bool, text: str = "") -> str:
        return ("yes" if ok else "**no**") + (f": {text}" if text else "")

    nothing = result.get("nothing_new")
    nothing_row = [] if nothing is None else [
        f"| build with nothing new (dbt skipped: {'yes' if nothing['skipped_dbt'] else 'no'}) | "
        f"{_s(nothing['seconds'])} | {_gb(nothing['peak_rss_mb'])} | "
        f"≤ {NOTHING_NEW_SECONDS:g} s | "
        f"{met(nothing['skipped_dbt'] and nothing['seconds'] <= NOTHING_NEW_SECONDS)} |"]
    identity_next_day = inc.get("models", {}).get(IDENTITY_MODEL)
    identity_row = [] if identity_next_day is None else [
        f"| · identity for the new day's links (`{IDENTITY_MODEL}` in the incremental build) | "
        f"{_s(identity_next_day)} | {DASH} | ≤ {IDENTITY_NEXT_DAY_SECONDS:g} s | "
        f"{met(identity_next_day <= IDENTITY_NEXT_DAY_SECONDS)} |"]
    exact = result.get("exactness")
    differing = 0 if exact is None else exact["differing_rows"]
    exact_row = [] if exact is None else [
        f"| full rebuild of every day, marts compared with the day-by-day warehouse "
        f"({exact['tables']} marts; left out by design: {', '.join(exact['left_out'])}) | "
        f"{_s(exact['rebuild_seconds'])} | {DASH} | 0 differing rows | "
        f"{met(differing == 0, f'{differing:,} rows')} |"]
    return [
        "| step | wall | peak RSS | target | met? |",
        "|---|---|---|---|---|",
        f"| floor: DuckDB `read_json` of the dumps | {_s(floor['seconds'])} | {DASH} | {DASH} "
        f"| {DASH} |",
        f"| full build, empty warehouse | {_s(full['seconds'])} ({_count(rate)} events/s) | "
        f"{_gb(full['peak_rss_mb'])} | ≤ {FULL_OVER_FLOOR:g}× floor | "
        f"{met(over_floor <= FULL_OVER_FLOOR, f'{over_floor:.1f}×')} |",
        f"| incremental build, one more day | {_s(inc['seconds'])} | "
        f"{_gb(inc['peak_rss_mb'])} | ≤ {100 * INCREMENTAL_OVER_FULL:g} % of full | "
        f"{met(over_full <= INCREMENTAL_OVER_FULL, f'{100 * over_full:.1f} %')} |",
        *identity_row,
        *nothing_row,
        *exact_row,
        f"| identity resolution alone, {_count(ident.get('links', result['events']))} links | "
        f"{_s(ident['seconds'])} | {_gb(ident_peak)} | ≤ {IDENTITY_SECONDS:g} s | "
        f"{met(ident['seconds'] <= IDENTITY_SECONDS)} |",
        f"| peak memory of a build | | {_gb(peak)} | ≤ {_gb(PEAK_MB)} | {met(peak <= PEAK_MB)} |",
    ]


def _stages_table(result: Mapping[str, Any]) -> list[str]:
    full, inc = stage_view(result["full"]), stage_view(result["incremental"])

    def row(label: str, key: str) -> str:
        return f"| {label} | {_share(full[key], full['wall'])} | {_share(inc[key], inc['wall'])} |"

    rows = ["| where the time went | full | incremental |", "|---|---|---|",
            row("start-up: process to the load, dbt's start and parse", "startup"),
            row("load (`raw.load_log`)", "load")]
    if full["models_total"] is not None:
        rows.append(row(f"dbt models ({full['models_count']}; staging: {full['staging_count']}, "
                        f"{_s(full['staging_total'])})", "models_total"))
    else:
        rows.append(row("dbt: models, tests, start (not split in this result)", "dbt_unsplit"))
    for name in list(full["models"])[:TOP_MODELS]:
        cells = [_share(view["models"].get(name), view["wall"]) for view in (full, inc)]
        rows.append(f"| · `{name}` | {cells[0]} | {cells[1]} |")
    slowest = full["slowest_test"]
    rows.append(row(f"dbt tests ({full['tests_count']}; slowest `{slowest[0]}` "
                    f"{_s(slowest[1])}) and Python checks" if slowest else "tests", "tests"))
    rows += [row("publish (`analytics.duckdb`, Parquet)", "publish"),
             row("audience exports", "audiences"), row("other", "other"),
             f"| wall | {_s(full['wall'])} | {_s(inc['wall'])} |"]
    return rows


def render_result(name: str, result: Mapping[str, Any]) -> str:
    """The paragraph and the two tables of one result."""
    machine = result.get("machine", {})
    commit = f" on commit `{result['commit']}`" if result.get("commit") else ""
    stamp = result["stamp"]
    head = (
        f"**{result.get('profile', 'standard')} traffic**: {_count(result['events'])} events "
        f"over {result['days']} days (+1 day, {_count(result['incremental']['events'])} events, "
        f"for the incremental build), measured {stamp[:10]}{commit} ({machine.get('cpus')} "
        f"cores, Python {machine.get('python')}, DuckDB {machine.get('duckdb')}), "
        f"`bench/results/{name}`. Ratios: full / floor "
        f"{result['ratios']['full_over_floor']:.2f}×, incremental / full "
        f"{100 * result['ratios']['incremental_over_full']:.1f} %."
    )
    return "\n".join([head, "", *_steps_table(result), "", *_stages_table(result)])


def render(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The generated section (markers included) for the given results."""
    newest = newest_per_profile(results)
    body = "\n\n".join(render_result(name, result) for name, result in newest)
    return f"{BEGIN}\n{body or 'No saved result yet.'}\n{END}"


def render_summary(results: Mapping[str, Mapping[str, Any]]) -> str:
    """The README's section: one row per traffic profile against the targets (the stages and
    the history are in docs/benchmarks.md)."""
    rows = ["| traffic | floor | full build | next day | nothing new | day by day = rebuild "
            "| peak | result |",
            "|---|---|---|---|---|---|---|---|"]
    for name, result in newest_per_profile(results):
        full, inc = result["full"], result["incremental"]
        nothing = result.get("nothing_new")
        peak = max(full["peak_rss_mb"], inc["peak_rss_mb"])
        rows.append(
            f"| {result.get('profile', 'standard')}, {_count(result['events'])} events over "
            f"{result['days']} days | {_s(result['floor']['seconds'])} | "
            f"{_s(full['seconds'])} = {full['seconds'] / result['floor']['seconds']:.1f}× floor "
            f"(target ≤ {FULL_OVER_FLOOR:g}×) | {_s(inc['seconds'])} = "
            f"{100 * inc['seconds'] / full['seconds']:.1f} % of full "
            f"(≤ {100 * INCREMENTAL_OVER_FULL:g} %) | "
            f"{DASH if nothing is None else _s(nothing['seconds'])} "
            f"(≤ {NOTHING_NEW_SECONDS:g} s) | {_exactness_cell(result.get('exactness'))} | "
            f"{_gb(peak)} (≤ {_gb(PEAK_MB)}) | `bench/results/{name}` |")
    body = "\n".join(rows) if len(rows) > 2 else "No saved result yet."
    return f"{BEGIN}\n{body}\n{END}"


def _exactness_cell(exact: Mapping[str, Any] | None) -> str:
    if exact is None:
        return f"{DASH} (not measured)"
    return f"{exact['differing_rows']:,} differing rows in {exact['tables']} marts (target 0)"


# Each page's section and how it is rendered.
PAGES = {README: render_summary, BENCHMARKS_PAGE: render}


def replace_section(text: str, section: str) -> str:
    """`text` with the part from BEGIN to END replaced by `section`."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {BEGIN} ... {END} section")
    return text[:start] + section + text[end + len(END):]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a page differs from the results")
    args = parser.parse_args(argv)
    results = load_results()
    stale = []
    for page, render_page in PAGES.items():
        text = page.read_text()
        updated = replace_section(text, render_page(results))
        if updated != text:
            stale.append(page.relative_to(ROOT))
            if not args.check:
                page.write_text(updated)
    verb = "differs from bench/results" if args.check else "rewritten"
    for page in stale:
        print(f"{page}: {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
