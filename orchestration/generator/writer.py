"""Writing one received day: render its visits and stream the lines into gzip'd
JSON-lines files (``out/YYYY-MM-DD/events-NNN.jsonl.gz``), sprinkling malformed lines.

One call of `_render_day_task` is one worker task; it re-renders the "spill" visits of
earlier days (those that can deliver after midnight) and keeps only the lines received
on its own day, so days can be written in any order, on any worker.
"""

from __future__ import annotations

import contextlib
import os
import random
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from orchestration.generator.config import _DAY_MS, _FLUSH_LINES, _GZIP_LEVEL, _Config, _Keys
from orchestration.generator.formatting import _day_prefix
from orchestration.generator.hashing import _mix64
from orchestration.generator.light import _renderer
from orchestration.generator.malformed import MALFORMED_KINDS, _malformed_line
from orchestration.generator.plan import _spill_days, _visit_rng


class _GzipWriter:
    """Streams lines into ``<final>`` through a hidden temp file, renamed on close.

    Compression runs on ``pool`` (one thread shared by the day's files, so each stream is
    compressed in order); zlib releases the GIL, so it overlaps with rendering.
    """

    def __init__(self, final: Path, pool: ThreadPoolExecutor) -> None:
        self.final = final
        self.tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        # wbits 31: gzip container; zlib writes mtime 0 and no file name (reproducible).
        self.z = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
        self.buf: list[str] = []
        self.pool = pool
        self.pending: Future[None] | None = None

    def _write(self, data: bytes, last: bool) -> None:
        self.fh.write(self.z.compress(data))
        if last:
            self.fh.write(self.z.flush())

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= _FLUSH_LINES:
            self.flush()

    def flush(self, last: bool = False) -> None:
        if self.buf:
            self.buf.append("")
            data = "\n".join(self.buf).encode()
            self.buf.clear()  # (the same list: the day's sink appends to it directly)
        else:
            data = b""
        if self.pending is not None:
            self.pending.result()  # at most one block in flight per file: bounded memory
        self.pending = self.pool.submit(self._write, data, last)

    def close(self) -> None:
        self.flush(last=True)
        assert self.pending is not None
        self.pending.result()
        self.fh.close()
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(BaseException):
                self.pending.result()
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _render_day(cfg: _Config, out: Path, d: int, visits: list[int],
                spill: list[int]) -> tuple[int, int, int]:
    """Write day ``d``; return (events, duplicates, malformed)."""
    keys = _Keys(cfg.seed)
    folder = out / _day_prefix(cfg.epoch_day0 + d)[:10]
    folder.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdp-gzip")
    writers = [_GzipWriter(folder / f"events-{i:03d}.jsonl.gz", pool)
               for i in range(cfg.files_per_day)]
    lo = cfg.h0_ms + d * _DAY_MS
    hi = lo + _DAY_MS
    counts = [0, 0, 0]
    mal_rng = random.Random(_mix64(keys.malformed ^ d))
    p_mal = cfg.malformed_rate / (1.0 - cfg.malformed_rate)  # per written line: a share of all
    mal_state = [0]
    kinds = len(MALFORMED_KINDS)
    bufs = [w.buf for w in writers]
    mal_random = mal_rng.random

    def sink(recv: int, f: int, line: str, copy: bool) -> None:
        if lo <= recv < hi:
            buf = bufs[f]
            buf.append(line)
            if len(buf) >= _FLUSH_LINES:
                writers[f].flush()
            counts[copy] += 1
            if mal_random() < p_mal:
                j = mal_state[0]
                mal_state[0] = j + 1
                k = (1 << 62) | (d << 32) | j
                mid = f"msg-{_mix64(k ^ keys.msg1):016x}{_mix64(k ^ keys.msg2):016x}"
                kind = MALFORMED_KINDS[(d + j) % kinds]
                writers[int(mal_random() * len(writers))].add(
                    _malformed_line(kind, line, mid, mal_rng))
                counts[2] += 1

    def strict_sink(recv: int, f: int, line: str, copy: bool) -> None:
        if not lo <= recv < hi:  # pragma: no cover - guards the spill bookkeeping
            raise RuntimeError(f"non-spill visit delivered outside its day: {line[:200]}")
        sink(recv, f, line, copy)

    renderer = _renderer(cfg, sink)
    day_rng = random.Random(_mix64(keys.day ^ d))
    try:
        for v in spill:
            renderer.render(v, _visit_rng(keys, v))
        for v in visits:
            if _spill_days(v):
                renderer.sink = sink
                renderer.render(v, _visit_rng(keys, v))
            else:
                renderer.sink = strict_sink
                renderer.render(v, day_rng)
        for w in writers:
            w.close()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        pool.shutdown(wait=True)
    return counts[0], counts[1], counts[2]


def _render_day_task(args: tuple[_Config, str, int, list[int], list[int]]) -> tuple[int, int, int]:
    cfg, out, d, visits, spill = args
    return _render_day(cfg, Path(out), d, visits, spill)
