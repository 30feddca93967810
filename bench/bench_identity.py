"""Benchmark of identity resolution on a synthetic, realistic graph.

    uv run python bench/bench_identity.py --links 10000000 [--seed 1] [--json out.json]
        [--max-user-ids 1]

Generates (vectorised, not timed) a long-format frame of exactly ``--links`` rows shaped
like a web/app CDP: many small customers (1-5 anonymous ids, 0-1 user id, 0-1 email),
anonymous page views, logins linking an anonymous id to a user id (and email), ~2% of
customers on a shared device (two user ids in one component) and a few large components
(kiosk browsers used by thousands of users, a test e-mail typed in by many users).

The frame is written to a DuckDB table in a temporary file (not timed; DuckDB capped at
``CDP_DUCKDB_MEMORY_LIMIT`` as in a build); the timed step is what ``cdp build`` runs on
DuckDB: :func:`orchestration.identity.warehouse.resolve_in_duckdb` plus writing its result
table. Reports wall and CPU seconds, links/s, memory and the resolver's statistics.

Memory: ``peak_rss_mb`` is the process's ``ru_maxrss`` (generation included);
``peak_rss_resolve_mb`` is the peak during the timed step alone (Linux VmHWM, reset just
before); ``rss_input_frame_mb`` is the process once the input is in DuckDB.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration import settings  # noqa: E402
from orchestration.identity.warehouse import resolve_in_duckdb  # noqa: E402

DAY_MS = 86_400_000
SPAN_DAYS = 30


def _rss_mb() -> float:
    """Peak RSS of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return float("nan")


def _vm_hwm_mb() -> float | None:
    """Peak RSS since the last :func:`_reset_peak` (Linux VmHWM), or None if unavailable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset VmHWM so that the resolve step's own peak can be read (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _hexes(prefix: str, n: int, salt: int, chunk: int = 500_000) -> np.ndarray:
    """``n`` distinct uuid-looking strings (built in chunks to bound transient memory)."""
    out = np.empty(n, dtype=object)
    for lo in range(0, n, chunk):
        ids = np.arange(lo, min(n, lo + chunk), dtype=np.uint64)
        mixed = (ids * np.uint64(0x9E3779B97F4A7C15) + np.uint64(salt)) >> np.uint64(1)
        out[lo : lo + len(ids)] = [
            f"{prefix}{x:016x}-{i:08x}" for x, i in zip(mixed.tolist(), ids.tolist(), strict=True)
        ]
    return out


def generate(links: int, seed: int = 1) -> pd.DataFrame:
    """A frame of exactly ``links`` (message, identifier) rows."""
    rng = np.random.default_rng(seed)
    rows_per_customer = 8.5
    n_cust = max(int(links / rows_per_customer * 1.1) + 10, 10)

    # customers: identifiers --------------------------------------------------------------
    n_anon = rng.choice([1, 2, 3, 4, 5], size=n_cust, p=[0.45, 0.25, 0.15, 0.1, 0.05])
    has_user = rng.random(n_cust) < 0.35
    has_email = np.where(has_user, rng.random(n_cust) < 0.8, rng.random(n_cust) < 0.05)
    cust_start = rng.integers(0, SPAN_DAYS * DAY_MS, n_cust)
    anon_cust = np.repeat(np.arange(n_cust), n_anon)
    n_anon_total = len(anon_cust)
    first_anon = np.concatenate(([0], np.cumsum(n_anon)[:-1]))
    user_of = np.where(has_user, np.cumsum(has_user) - 1, -1)
    email_of = np.where(has_email, np.cumsum(has_email) - 1, -1)
    n_users = int(has_user.sum())
    n_emails = int(has_email.sum())

    # node ids: anon [0, A), users [A, A+U), emails [A+U, A+U+E), specials after
    a0, u0, e0 = 0, n_anon_total, n_anon_total + n_users
    n_kiosks = 5
    k0 = e0 + n_emails
    test_email = k0 + n_kiosks

    msgs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (time, node a, node b)
    # page/track views of each anonymous id: {anon}
    views = 1 + rng.geometric(0.4, n_anon_total)
    owner = np.repeat(np.arange(n_anon_total), views)
    t = cust_start[anon_cust[owner]] + rng.integers(0, 5 * DAY_MS, len(owner))
    msgs.append((t, a0 + owner, np.full(len(owner), -1)))
    # logins: {anon, user} (+ email as a third identifier, below); then {anon, user} events
    la = np.flatnonzero(has_user[anon_cust])
    lt = cust_start[anon_cust[la]] + rng.integers(0, 5 * DAY_MS, len(la))
    login_idx = len(msgs)
    msgs.append((lt, a0 + la, u0 + user_of[anon_cust[la]]))
    after = rng.poisson(1.2, len(la))
    ta = np.repeat(la, after)
    msgs.append(
        (
            np.repeat(lt, after) + rng.integers(1, DAY_MS, len(ta)),
            a0 + ta,
            u0 + user_of[anon_cust[ta]],
        )
    )
    # newsletter forms without login: {anon, email}
    ne = np.flatnonzero(has_email & ~has_user)
    msgs.append((cust_start[ne] + 1000, a0 + first_anon[ne], e0 + email_of[ne]))
    # shared devices: 2% of customers' first anon id is later used by another user
    users = np.flatnonzero(has_user)
    shared = rng.choice(n_cust, size=int(0.02 * n_cust), replace=False)
    other = rng.choice(users, size=len(shared))
    msgs.append(
        (
            cust_start[shared] + rng.integers(DAY_MS, 3 * DAY_MS, len(shared)),
            a0 + first_anon[shared],
            u0 + user_of[other],
        )
    )
    # a few large components: kiosks used by many users, a test e-mail shared by many users
    for k in range(n_kiosks):
        used_by = rng.choice(users, size=min(len(users), 2000))
        msgs.append(
            (
                rng.integers(0, SPAN_DAYS * DAY_MS, len(used_by)),
                np.full(len(used_by), k0 + k),
                u0 + user_of[used_by],
            )
        )
    testers = rng.choice(users, size=min(len(users), 1000))
    msgs.append(
        (
            rng.integers(0, SPAN_DAYS * DAY_MS, len(testers)),
            u0 + user_of[testers],
            np.full(len(testers), test_email),
        )
    )

    n_msg = sum(len(m[0]) for m in msgs)
    mat = np.full((n_msg, 3), -1, dtype=np.int64)
    mat[:, 0] = np.concatenate([m[1] for m in msgs])
    mat[:, 1] = np.concatenate([m[2] for m in msgs])
    times = np.concatenate([m[0] for m in msgs])
    # emails on logins of customers that have one
    start = sum(len(m[0]) for m in msgs[:login_idx])
    lc = anon_cust[la]
    mat[start : start + len(la), 2] = np.where(has_email[lc], e0 + email_of[lc], -1)
    del msgs, views, owner, t, lt, la, lc, ta, after, anon_cust

    perm = rng.permutation(n_msg)  # message ids are random with respect to time
    times, mat = times[perm], mat[perm]
    del perm
    present = mat >= 0
    row_msg = np.repeat(np.arange(n_msg), present.sum(axis=1))
    row_node = mat[present]
    del mat, present
    if len(row_msg) < links:
        raise SystemExit(f"generator produced only {len(row_msg)} rows; raise rows_per_customer")
    row_msg, row_node = row_msg[:links].copy(), row_node[:links].copy()
    used_msgs = int(row_msg[-1]) + 1

    n_nodes = test_email + 1
    node_type = np.empty(n_nodes, dtype=object)
    node_type[a0:u0] = "anonymous_id"
    node_type[u0:e0] = "user_id"
    node_type[e0:k0] = "email"
    node_type[k0:test_email] = "anonymous_id"
    node_type[test_email] = "email"
    values = np.empty(n_nodes, dtype=object)
    values[a0:u0] = _hexes("", n_anon_total, 1)
    values[u0:e0] = np.array([f"user_{i}" for i in range(n_users)], dtype=object)
    values[e0:k0] = np.array([f"person{i}@example.com" for i in range(n_emails)], dtype=object)
    values[k0:test_email] = np.array([f"kiosk-{k}" for k in range(n_kiosks)], dtype=object)
    values[test_email] = "test@example.com"
    msg_ids = _hexes("m", used_msgs, 7)
    base = np.datetime64("2024-01-01T00:00:00", "ms")
    event_at = (base + times[:used_msgs].astype("m8[ms]")).astype("M8[ns]")

    del times
    frame = pd.DataFrame({"message_id": msg_ids[row_msg]})
    frame["event_at"] = event_at[row_msg]
    del msg_ids, event_at, row_msg
    frame["identifier_type"] = node_type[row_node]
    frame["identifier_value"] = values[row_node]
    return frame


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-user-ids", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    frame = generate(args.links, args.seed)
    gen_seconds = time.perf_counter() - t0
    links = len(frame)
    with tempfile.TemporaryDirectory() as tmp:
        conn = duckdb.connect(str(Path(tmp) / "identity.duckdb"))
        conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit()}'")
        conn.execute("set preserve_insertion_order = false")
        conn.register("generated", frame)
        conn.execute("create table identifiers as select * from generated")
        conn.unregister("generated")
        del frame
        gc.collect()
        rss_input = _current_rss_mb()
        generate_peak = _rss_mb()
        can_reset = _reset_peak()

        t1, c1 = time.perf_counter(), time.process_time()
        stats: dict[str, Any] = {}
        resolved = resolve_in_duckdb(conn, "identifiers", args.max_user_ids, stats)
        conn.register("resolved", resolved)
        conn.execute("create table resolution as select * from resolved")
        conn.close()
        seconds, cpu_seconds = time.perf_counter() - t1, time.process_time() - c1
        resolve_peak = _vm_hwm_mb() if can_reset else None

    report: dict[str, Any] = {
        "links": links,
        "seed": args.seed,
        "max_user_ids": args.max_user_ids,
        "generate_seconds": round(gen_seconds, 2),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "links_per_second": round(links / seconds),
        "rss_input_frame_mb": round(rss_input, 1),
        "peak_rss_generate_mb": round(generate_peak, 1),
        "peak_rss_resolve_mb": None if resolve_peak is None else round(resolve_peak, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        **{f"stats_{k}": v for k, v in stats.items()},
    }
    for key, value in report.items():
        print(f"{key:>32}: {value}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
