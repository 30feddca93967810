"""End-to-end benchmark: floor, full build, next-day incremental build, identity resolution.

    uv run python bench/run.py --events 10000000 --days 30 [--seed 1] [--identity-links N]

1. Generates `--events` events over `--days` + 1 days with the project's generator (cached
   in bench/.cache/, keyed by the arguments, so a rerun skips it). The last day is held
   back for the incremental step.
2. floor: DuckDB reads every dump file of the first `--days` days once into a table
   (`read_json`, newline-delimited, gzip) -- what any pipeline must at least pay.
3. full: `cdp build` from an empty warehouse over those days (a subprocess, as a user runs it).
4. incremental: the held-back day is added and `cdp build` runs again.
5. identity: `bench/bench_identity.py --links N` (resolution alone on N distinct links).

Prints wall time, events/s, peak memory (RSS summed over the process tree, sampled every
0.2 s) and the ratios full/floor and incremental/full; writes bench/results/<stamp>.json and
redraws bench/results/history.png from every saved result.
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

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
START = dt.date(2026, 1, 1)


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
    """Run a command; return wall seconds and peak RSS of its whole process tree."""
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
            "output_tail": output[-1500:]}


def generate(events: int, days: int, seed: int) -> Path:
    target = CACHE / f"events{events}-days{days}-seed{seed}"
    if (target / "DONE").exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    cmd = [sys.executable, "-m", "orchestration.cli", "generate", "--events", str(events),
           "--days", str(days + 1), "--seed", str(seed), "--start", START.isoformat(),
           "--out", str(target / "all"), "--workers", str(os.cpu_count() or 1)]
    print(f"generating {events:,} events over {days + 1} days (cached in {target}) ...")
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


def dbt_profile(started: float) -> dict:
    """dbt's own account of the newest run started after `started`: total elapsed seconds and
    the slowest nodes (run_results.json of the run's target folder)."""
    runs = [p for p in (ROOT / "target").glob("*/run_results.json")
            if p.stat().st_mtime >= started]
    if not runs:
        return {}
    results = json.loads(max(runs, key=lambda p: p.stat().st_mtime).read_text())
    nodes = sorted(results["results"], key=lambda r: -r["execution_time"])
    return {
        "dbt_seconds": round(results["elapsed_time"], 2),
        "slowest": {r["unique_id"].split(".", 2)[-1]: round(r["execution_time"], 2)
                    for r in nodes[:8]},
    }


def draw_history() -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    runs = sorted(RESULTS.glob("*.json"))
    rows = [json.loads(p.read_text()) for p in runs]
    if not rows:
        return
    labels = [r["stamp"][:16] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 4))
    for key in ("floor", "full", "incremental"):
        ax.plot(labels, [r[key]["seconds"] for r in rows], marker="o", label=key)
    ax.plot(labels, [r["identity"]["seconds"] for r in rows], marker="o", label="identity")
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
    parser.add_argument("--identity-links", type=int, default=None,
                        help="links for the identity step (default: --events)")
    args = parser.parse_args()

    cache = generate(args.events, args.days, args.seed)
    all_days = sorted(p.name for p in (cache / "all").iterdir() if p.is_dir())
    history, new_day = all_days[:-1], all_days[-1]
    work = cache / "run"
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

    print("floor: DuckDB read_json of every dump file into a table ...")
    floor_result = floor(raw, work / "floor.duckdb")
    print(f"  {floor_result}")
    print("full build from an empty warehouse ...")
    started = time.time()
    full = run_measured(cdp, env)
    full["events"] = events_loaded(warehouse)
    full["load_seconds"] = load_seconds(warehouse)
    full.update(dbt_profile(started))
    last_load = newest_load(warehouse)
    print(f"  {full['seconds']} s (load {full['load_seconds']} s, dbt "
          f"{full.get('dbt_seconds')} s), peak {full['peak_rss_mb']} MB")
    print(f"incremental build after adding {new_day} ...")
    (raw / new_day).symlink_to(cache / "all" / new_day, target_is_directory=True)
    started = time.time()
    incremental = run_measured(cdp, env)
    incremental["events"] = events_loaded(warehouse) - full["events"]
    incremental["load_seconds"] = load_seconds(warehouse, since=last_load)
    incremental.update(dbt_profile(started))
    print(f"  {incremental['seconds']} s (load {incremental['load_seconds']} s, dbt "
          f"{incremental.get('dbt_seconds')} s), peak {incremental['peak_rss_mb']} MB")
    links = args.identity_links or args.events
    print(f"identity resolution alone on {links:,} links ...")
    identity_json = work / "identity.json"
    identity = run_measured([sys.executable, "bench/bench_identity.py", "--links", str(links),
                             "--seed", str(args.seed), "--json", str(identity_json)])
    identity.update(json.loads(identity_json.read_text()))

    result = {
        "stamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H-%M-%S"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version(), "duckdb": duckdb.__version__},
        "events": args.events, "days": args.days,
        "floor": floor_result,
        "full": {k: v for k, v in full.items() if k != "output_tail"},
        "incremental": {k: v for k, v in incremental.items() if k != "output_tail"},
        "identity": {k: v for k, v in identity.items() if k != "output_tail"},
    }
    result["ratios"] = {
        "full_over_floor": round(full["seconds"] / floor_result["seconds"], 2),
        "incremental_over_full": round(incremental["seconds"] / full["seconds"], 3),
    }
    result["events_per_second_full"] = round(full["events"] / full["seconds"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{result['stamp']}.json").write_text(json.dumps(result, indent=2))
    draw_history()
    print(json.dumps({k: result[k] for k in ("floor", "full", "incremental", "ratios")},
                     indent=2))


if __name__ == "__main__":
    main()
