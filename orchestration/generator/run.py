"""`generate()`: check the arguments, plan the customers' visits (on workers), write the
days (on workers) and return the counts as `GenerateStats`.
"""

from __future__ import annotations

import datetime as dt
import functools
import multiprocessing
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from orchestration.generator.config import (
    _CHUNK,
    _DAY_MS,
    _PILOT_CUSTOMERS,
    PROFILES,
    _Config,
    _Keys,
)
from orchestration.generator.formatting import _EPOCH_ORDINAL
from orchestration.generator.light import _renderer
from orchestration.generator.plan import _plan_chunk, _plan_chunk_task, _spill_days, _visit_rng
from orchestration.generator.writer import _render_day_task


@dataclass(frozen=True)
class GenerateStats:
    """What `generate` wrote. ``lines == events + duplicates + malformed``."""

    days: int
    files: int
    lines: int
    events: int  # distinct valid messages
    duplicates: int  # extra copies of a valid message (same messageId)
    malformed: int  # lines a loader must quarantine
    customers: int

    def as_dict(self) -> dict:
        return asdict(self)


@functools.lru_cache(maxsize=8)
def _events_per_customer(cfg: _Config, sample: int) -> float:
    """Distinct messages delivered within the period per customer, on a sample."""
    keys = _Keys(cfg.seed)
    visits: list[int] = []
    for chunk in range((sample + _CHUNK - 1) // _CHUNK):
        visits.extend(_plan_chunk(cfg, chunk, sample))
    lo, hi = cfg.h0_ms, cfg.h0_ms + cfg.horizon_ms
    count = [0]

    def sink(recv: int, f: int, line: str, copy: bool) -> None:
        if not copy and lo <= recv < hi:
            count[0] += 1

    renderer = _renderer(cfg, sink)
    for v in visits:
        renderer.render(v, _visit_rng(keys, v))
    return max(count[0], 1) / sample


def generate(
    out: Path,
    *,
    days: int = 30,
    customers: int = 2000,
    seed: int = 42,
    start: dt.date | None = None,
    events: int | None = None,
    files_per_day: int = 2,
    workers: int = 1,
    malformed_rate: float = 0.002,
    duplicate_rate: float = 0.01,
    profile: str = "standard",
) -> GenerateStats:
    """Write ``days`` folders of Segment-spec JSON lines under ``out``; return the counts.

    ``start`` is the first folder's date (default: today UTC minus ``days``). ``events``,
    when given, overrides ``customers`` with however many customers make about that many
    distinct valid messages. ``profile`` is the traffic: ``"standard"``, or ``"light"`` (web
    only, short payloads; see light.py). The output depends only on the arguments (not on
    ``workers``); with an explicit ``start`` it is byte-for-byte reproducible.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if files_per_day < 1:
        raise ValueError("files_per_day must be at least 1")
    if not 0 <= malformed_rate < 0.5:
        raise ValueError("malformed_rate must be in [0, 0.5)")
    if not 0 <= duplicate_rate <= 0.5:
        raise ValueError("duplicate_rate must be in [0, 0.5]")
    if events is None and customers < 1:
        raise ValueError("customers must be at least 1")
    if events is not None and events < 1:
        raise ValueError("events must be at least 1")
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}")
    if start is None:
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    cfg = _Config(
        seed=int(seed),
        days=int(days),
        epoch_day0=start.toordinal() - _EPOCH_ORDINAL,
        files_per_day=int(files_per_day),
        malformed_rate=float(malformed_rate),
        duplicate_rate=float(duplicate_rate),
        profile=profile,
    )
    if events is not None:
        per_customer = _events_per_customer(cfg, _PILOT_CUSTOMERS)
        customers = max(1, round(events / per_customer))
    if customers >= 1 << 32:
        raise ValueError("too many customers")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_chunks = (customers + _CHUNK - 1) // _CHUNK
    use_pool = workers > 1 and not multiprocessing.current_process().daemon
    pool = None
    if use_pool:
        # forkserver: workers forked from a clean single-threaded server. A plain fork of a
        # process that runs threads (Dagster, DuckDB, a test session) can copy a lock held by
        # another thread and hang the worker forever (seen in CI).
        # A process pool of concurrent.futures: a worker that dies (killed, out of memory)
        # breaks the pool with BrokenProcessPool instead of leaving the results waiting forever
        # (multiprocessing.Pool's imap does).
        methods = multiprocessing.get_all_start_methods()
        method = "forkserver" if "forkserver" in methods else "spawn"
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))
    try:
        chunk_args = [(cfg, i, customers) for i in range(n_chunks)]
        chunks: Iterable[list[int]] = (
            pool.map(_plan_chunk_task, chunk_args) if pool is not None
            else map(_plan_chunk_task, chunk_args)
        )
        by_day: list[list[int]] = [[] for _ in range(days)]
        for chunk_visits in chunks:
            for v in chunk_visits:
                by_day[(v >> 64) // _DAY_MS].append(v)
        for lst in by_day:
            lst.sort()
        spill_by_day = [[v for v in lst if _spill_days(v)] for lst in by_day]
        tasks = []
        for d in range(days):
            spill: list[int] = []
            for k in range(7, 0, -1):
                if d - k >= 0:
                    spill.extend(v for v in spill_by_day[d - k] if _spill_days(v) >= k)
            tasks.append((cfg, str(out), d, by_day[d], spill))
        del by_day, spill_by_day
        results: Iterable[tuple[int, int, int]] = (
            pool.map(_render_day_task, tasks) if pool is not None
            else map(_render_day_task, tasks)
        )
        n_events = n_dups = n_bad = 0
        for e, dup, bad in results:
            n_events += e
            n_dups += dup
            n_bad += bad
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return GenerateStats(
        days=days,
        files=days * files_per_day,
        lines=n_events + n_dups + n_bad,
        events=n_events,
        duplicates=n_dups,
        malformed=n_bad,
        customers=customers,
    )
