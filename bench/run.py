"""End-to-end benchmark: floor, full build, next-day incremental build, identity resolution.

    uv run python bench/run.py --events 10000000 --days 30 [--seed 1] [--profile light]
                               [--identity-links N]
    uv run --extra spark python bench/run.py --engine spark --events 1000000 --days 10

1. Generates `--events` events over `--days` + 1 days with the project's generator and the
   traffic profile `--profile` (cached in bench/.cache/, keyed by the arguments, so a rerun
   skips it). The last day is held back for the incremental step.
2. floor: DuckDB reads every dump file of the first `--days` days once into a table
   (`read_json`, newline-delimited, gzip) -- what any pipeline must at least pay.
3. full: `cdp build` from an empty warehouse over those days (a subprocess, as a user runs it).
4. incremental: the held-back day is added and `cdp build` runs again.
5. nothing new: `cdp build` once more, with no new or changed dump (it must skip dbt).
6. exactness: `cdp build` of every day at once into a second warehouse (a full rebuild), and
   every mart compared row for row with the warehouse built day by day above
   (bench/compare_marts.py; the two audience tables that record each build are left out).
   `--no-exactness` skips it (it costs a second full build).
7. identity: `bench/bench_identity.py --links N` (resolution alone on N distinct links).

Prints wall time, events/s, peak memory (RSS summed over the process tree, sampled every
0.2 s) and the ratios full/floor and incremental/full; splits each build's wall time into
stages (start-up, load, every dbt model, tests, publish, audience exports, other; see
bench/stages.py) from `cdp build --summary-json`, raw.load_log and the run's
run_results.json; writes bench/results/<stamp>.json and redraws bench/results/history.png
from every saved DuckDB result. `bench/report.py` turns the newest result per profile into
the tables of README.md and docs/benchmarks.md.

With `--engine spark` the same dumps go through `python -m orchestration.ingest.spark_build`
on a local Spark session instead (bench/spark_steps.py: full, a rerun with nothing new, the
held-back day, then a day a tenth that size loaded alone for the per-day load cost), saved
with `"engine": "spark"` and left out of the chart and the report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
from compare_marts import RECORDS_OF_BUILDS, compare_tables, differing_rows
from stages import find_run_results, split_build

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
START = dt.date(2026, 1, 1)
PROFILES = ("standard", "light")  # cdp generate --profile


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _tree_rss_bytes(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            continue
        stack.extend(_children(current))
    return total


def run_measured(cmd: list[str], env: dict[str, str] | None = None) -> dict:
    """Run a command; return wall seconds and peak RSS of its whole process tree, and when it
    was launched (epoch seconds, the clock of Dagster's and dbt's timestamps)."""
    launched = time.time()
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss_bytes(proc.pid))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = proc.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(output[-5000:])
        raise SystemExit(f"{' '.join(cmd)} failed with exit status {proc.returncode}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(peak / 2**20, 1),
            "launched": launched, "output_tail": output[-1500:]}


def cache_dir(events: int, days: int, seed: int, profile: str, start: dt.date = START) -> Path:
    """Dumps per arguments and profile (the standard profile keeps the folder it always had)."""
    suffix = "" if profile == "standard" else f"-{profile}"
    suffix += "" if start == START else f"-from{start.isoformat()}"
    return CACHE / f"events{events}-days{days}-seed{seed}{suffix}"


def generate(events: int, days: int, seed: int, profile: str, start: dt.date = START) -> Path:
    """`days` + 1 days of dumps from `start` in <cache>/all (the last one held back)."""
    target = cache_dir(events, days, seed, profile, start)
    if (target / "DONE").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    cmd = [sys.executable, "-m", "orchestration.cli", "generate", "--events", str(events),
           "--days", str(days + 1), "--seed", str(seed), "--start", start.isoformat(),
           "--profile", profile, "--out", str(target / "all"),
           "--workers", str(os.cpu_count() or 1)]
    print(f"generating {events:,} events over {days + 1} days, {profile} traffic "
          f"(cached in {target}) ...")
    result = run_measured(cmd)
    (target / "DONE").write_text(json.dumps(result))
    return target


def floor(raw: Path, db: Path) -> dict:
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(db)) as conn:
        conn.execute(f"""
            create table dumps as
            select * from read_json('{raw}/*/*.jsonl.gz', format = 'newline_delimited',
                                    ignore_errors = true, union_by_name = true)
        """)
        rows = conn.execute("select count(*) from dumps").fetchone()[0]
    return {"seconds": round(time.perf_counter() - started, 2), "rows": int(rows)}


def events_loaded(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return int(conn.execute("select count(*) from raw.events").fetchone()[0])


def load_seconds(warehouse: Path, since: str | None = None) -> float:
    """Seconds the loader spent on the days it (re)loaded after `since` (raw.load_log)."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        row = conn.execute(
            "select sum(seconds) from raw.load_log where loaded_at > coalesce(?::timestamp, "
            "'1900-01-01'::timestamp)", [since]).fetchone()
    return round(float(row[0] or 0), 2)


def newest_load(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return str(conn.execute("select max(loaded_at) from raw.load_log").fetchone()[0])


def measure_build(cmd: list[str], env: dict[str, str], warehouse: Path,
                  summary_json: Path, since_load: str | None = None) -> dict:
    """One `cdp build`: wall time and peak RSS, then its stages (bench/stages.py) from the
    summary JSON it writes, raw.load_log and the run's run_results.json."""
    summary_json.unlink(missing_ok=True)
    build = run_measured([*cmd, "--summary-json", str(summary_json)], env)
    summary = json.loads(summary_json.read_text())
    run_results = find_run_results(ROOT / "target", summary.get("dbt_invocation_id"),
                                   summary.get("run_id"), since=build["launched"])
    if run_results is None:
        print("  warning: no run_results.json of this build's dbt run: dbt stages left empty")
    build["load_seconds"] = load_seconds(warehouse, since=since_load)
    if run_results is not None:
        build["dbt_seconds"] = round(run_results["elapsed_time"], 2)
        build["dbt_invocation_id"] = run_results["metadata"]["invocation_id"]
    build.update(split_build(launched=build["launched"], wall=build["seconds"],
                             summary=summary, load_seconds=build["load_seconds"],
                             run_results=run_results))
    del build["launched"]
    return build


def print_build(build: dict) -> None:
    stages = ", ".join(f"{k} {v}" for k, v in build["stages"].items())
    slowest = ", ".join(f"{k} {v}" for k, v in list(build["models"].items())[:5])
    print(f"  {build['seconds']} s, peak {build['peak_rss_mb']} MB\n  stages (s): {stages}\n"
          f"  slowest models (s): {slowest}")


def git_commit() -> str:
    """The commit measured, with `-dirty` when the working tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def draw_history() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    rows = [row for row in (json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json")))
            if row.get("engine", "duckdb") == "duckdb"]
    if not rows:
        return
    fig, ax = plt.subplots(figsize=(8, 4))
    for profile, style in zip(PROFILES, ("-", "--"), strict=True):
        runs = [r for r in rows if r.get("profile", "standard") == profile]
        when = [dt.datetime.strptime(r["stamp"], "%Y-%m-%dT%H-%M-%S") for r in runs]
        for i, key in enumerate(("floor", "full", "incremental", "identity")):
            if runs:
                ax.plot(when, [r[key]["seconds"] for r in runs], style, color=f"C{i}",
                        marker="o", label=key if profile == "standard" else f"{key} ({profile})")
    ax.set_ylabel("seconds")
    ax.set_title("cdp benchmark history")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(RESULTS / "history.png", dpi=90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=PROFILES, default="standard",
                        help="traffic profile of the generated dumps (cdp generate --profile)")
    parser.add_argument("--identity-links", type=int, default=None,
                        help="links for the identity step (default: --events)")
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                        help="spark: load and build on a local Spark session (needs the "
                        "spark extra) and measure the per-day load cost")
    parser.add_argument("--no-exactness", action="store_true",
                        help="skip the full rebuild compared with the day-by-day warehouse")
    args = parser.parse_args()

    commit = git_commit()  # the code measured, before a long run gives time to change it
    cache = generate(args.events, args.days, args.seed, args.profile)
    all_days = sorted(p.name for p in (cache / "all").iterdir() if p.is_dir())
    history, new_day = all_days[:-1], all_days[-1]
    work = cache / ("run" if args.engine == "duckdb" else "run-spark")
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    raw.mkdir(parents=True)
    for day in history:
        (raw / day).symlink_to(cache / "all" / day, target_is_directory=True)
    warehouse = work / "warehouse.duckdb"
    env = {**os.environ, "CDP_WAREHOUSE": str(warehouse), "CDP_RAW_DIR": str(raw),
           "CDP_PUBLISH": str(work / "analytics.duckdb"),
           "CDP_EXPORT_DIR": str(work / "exports"), "CDP_RECORD_RUNS": "0"}
    env.pop("DAGSTER_HOME", None)  # a throw-away Dagster instance, as in CI
    cdp = [sys.executable, "-m", "orchestration.cli", "build"]
    if args.engine == "spark":
        run_spark(args, cache, new_day, commit)
        return

    print("floor: DuckDB read_json of every dump file into a table ...")
    floor_result = floor(raw, work / "floor.duckdb")
    print(f"  {floor_result}")
    print("full build from an empty warehouse ...")
    full = measure_build(cdp, env, warehouse, work / "full-summary.json")
    full["events"] = events_loaded(warehouse)
    print_build(full)
    last_load = newest_load(warehouse)
    print(f"incremental build after adding {new_day} ...")
    (raw / new_day).symlink_to(cache / "all" / new_day, target_is_directory=True)
    incremental = measure_build(cdp, env, warehouse, work / "incremental-summary.json",
                                since_load=last_load)
    incremental["events"] = events_loaded(warehouse) - full["events"]
    print_build(incremental)
    print("build with nothing new ...")
    nothing_summary = work / "nothing-new-summary.json"
    nothing_new = run_measured([*cdp, "--summary-json", str(nothing_summary)], env)
    nothing_new["skipped_dbt"] = not json.loads(nothing_summary.read_text())["ran"]
    print(f"  {nothing_new['seconds']} s, peak {nothing_new['peak_rss_mb']} MB, "
          f"dbt skipped: {nothing_new['skipped_dbt']}")
    exactness = None if args.no_exactness else rebuild_and_compare(cdp, env, work, warehouse)
    links = args.identity_links or args.events
    print(f"identity resolution alone on {links:,} links ...")
    identity_json = work / "identity.json"
    identity = run_measured([sys.executable, "bench/bench_identity.py", "--links", str(links),
                             "--seed", str(args.seed), "--json", str(identity_json)])
    identity.update(json.loads(identity_json.read_text()))

    def kept(build: dict) -> dict:
        return {k: v for k, v in build.items() if k not in ("output_tail", "launched")}

    result = {
        "stamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S"),
        "commit": commit,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "duckdb": duckdb.__version__},
        "profile": args.profile, "events": args.events, "days": args.days, "seed": args.seed,
        "floor": floor_result,
        "full": kept(full),
        "incremental": kept(incremental),
        "nothing_new": kept(nothing_new),
        "identity": kept(identity),
    }
    if exactness is not None:
        result["exactness"] = exactness
    result["ratios"] = {
        "full_over_floor": round(full["seconds"] / floor_result["seconds"], 2),
        "incremental_over_full": round(incremental["seconds"] / full["seconds"], 3),
    }
    result["events_per_second_full"] = round(full["events"] / full["seconds"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result['stamp']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    draw_history()
    print(json.dumps({k: result[k] for k in ("floor", "ratios")}, indent=2))
    print(f"saved {path.relative_to(ROOT)}; README and docs tables: uv run python "
          "bench/report.py")


def rebuild_and_compare(cdp: list[str], env: dict[str, str], work: Path,
                        warehouse: Path) -> dict:
    """Build every day at once into a second warehouse (same dumps, same privacy salt: the
    salt file sits in the same folder) and compare its marts with `warehouse`'s."""
    print("full rebuild of every day, compared with the day-by-day warehouse ...")
    rebuilt = work / "rebuild.duckdb"
    rebuild_env = {**env, "CDP_WAREHOUSE": str(rebuilt),
                   "CDP_PUBLISH": str(work / "rebuild" / "analytics.duckdb"),
                   "CDP_EXPORT_DIR": str(work / "rebuild" / "exports")}
    build = run_measured(cdp, rebuild_env)
    tables = compare_tables(str(warehouse), str(rebuilt), skip=RECORDS_OF_BUILDS)
    exactness = {
        "rebuild_seconds": build["seconds"],
        "tables": len(tables),
        "differing_rows": differing_rows(tables),
        "left_out": sorted(RECORDS_OF_BUILDS),
        "by_table": tables,
    }
    print(f"  rebuild {build['seconds']} s; {exactness['tables']} marts compared, "
          f"{exactness['differing_rows']} differing rows")
    return exactness


def run_spark(args: argparse.Namespace, cache: Path, new_day: str, commit: str) -> None:
    """The Spark benchmark (bench/spark_steps.py) on the cached dumps; its own result file."""
    import spark_steps

    work = cache / "run-spark"
    last = dt.date.fromisoformat(new_day)
    # a day a tenth the size of an average one, after the held-back day
    small = generate(max(args.events // args.days // 10, 100), 0, args.seed + 1, args.profile,
                     start=last + dt.timedelta(days=1))
    small_day = next(p for p in (small / "all").iterdir() if p.is_dir())
    spark = spark_steps.run(work, work / "raw", cache, new_day, small_day, run_measured)
    result = {
        "stamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S"), "engine": "spark",
        "commit": commit,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "pyspark": _version("pyspark")},
        "profile": args.profile, "events": args.events, "days": args.days, "seed": args.seed,
        **spark,
        "notes": "2 cores shared with other processes (see the load averages); a local Spark "
                 "session, one JVM per step",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{result['stamp']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["per_day_load"], indent=2))
    print(f"saved {path.relative_to(ROOT)}")


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "-"


if __name__ == "__main__":
    main()
