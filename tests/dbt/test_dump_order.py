"""The marts do not depend on how the dumps were cut into files or in which order they load.

The generator's dumps for three days (retried copies with later receivedAt, next-day
redeliveries, late visits, app traffic), plus hand-made copies that differ where the marts can
see it, are built once as written; then the same lines, shuffled within each day and cut into a
different number of files whose names sort the other way, are loaded day by day in reverse
order and built again. Every table of schema `marts` must be equal row for row
(bench/compare_marts.py; build-time stamps left out).

The hand-made copies: page views from a device clock a year ahead, each retried three minutes
later (their event time is clamped to receivedAt, so the winning copy decides viewed_at), and
page views redelivered the next day (the received day decides the session's anchor, so its id).

This needs the loader's duplicate rule from DESIGN ("the copy with the earliest receivedAt wins
(ties: smallest file name, then line), whatever order the files were loaded in"): with
"first file and line wins", a retry that lands in a file sorting first would win and move its
message to another received day.
"""

from __future__ import annotations

import datetime as dt
import gzip
import importlib.util
import random
from pathlib import Path

import duckdb
import pytest
from support.dbt_project import DbtProject, message, write_dump

from orchestration import privacy
from orchestration.generator import generate
from orchestration.ingest.duckdb_loader import load_day
from orchestration.settings import REPO_ROOT

pytestmark = pytest.mark.slow

START = dt.date(2026, 6, 1)
DAYS = [(START + dt.timedelta(days=i)).isoformat() for i in range(3)]
SALT = "dump-order-test-salt"

spec = importlib.util.spec_from_file_location(
    "compare_marts", REPO_ROOT / "bench" / "compare_marts.py")
compare_marts = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compare_marts)


def at(day: int, hours: int, minutes: int = 0) -> dt.datetime:
    return dt.datetime.combine(START, dt.time(hours, minutes), tzinfo=dt.UTC) + dt.timedelta(
        days=day)


def differing_copies() -> tuple[list[tuple[dict, dict]], list[dict]]:
    """(first copy, later copy) pairs of one messageId that the marts tell apart, and the
    single messages beside them."""
    pairs, singles = [], []
    for n in range(8):
        received = at(n % 2, 9 + n)
        first = message("page", f"future-{n}", "2027-06-01T00:00:00.000Z",
                        received_at=received, anonymous_id=f"ahead-{n}", path="/pricing")
        pairs.append((first, dict(first, receivedAt=message(
            "page", "x", received + dt.timedelta(minutes=3))["receivedAt"])))
    for n in range(4):
        # a session of two page views whose first is sent again the next day: received on the
        # first day, it is the session's first-received message (its anchor)
        first = message("page", f"redelivered-{n}", at(0, 20 + n), anonymous_id=f"again-{n}",
                        path="/")
        pairs.append((first, dict(first, receivedAt=message(
            "page", "x", at(1, 8 + n))["receivedAt"])))
        singles.append(message("page", f"on-time-{n}", at(0, 20 + n, 5),
                               anonymous_id=f"again-{n}", path="/pricing"))
    return pairs, singles


def write_differing_copies(raw_dir: Path) -> None:
    """First copies (and the singles) in `a-copies.jsonl`, later ones in `b-copies.jsonl` of
    their received day: in file order, the first copy comes first."""
    pairs, singles = differing_copies()
    by_file: dict[tuple[str, str], list[dict]] = {}
    copies = [("a-copies.jsonl", m) for m in singles]
    copies += [(name, m) for first, later in pairs
               for name, m in (("a-copies.jsonl", first), ("b-copies.jsonl", later))]
    for name, copy in copies:
        by_file.setdefault((copy["receivedAt"][:10], name), []).append(copy)
    for (day, name), messages in by_file.items():
        write_dump(raw_dir, day, messages, name=name)


def read_lines(day_dir: Path) -> list[str]:
    lines = []
    for path in sorted(day_dir.rglob("*")):
        if path.is_file():
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as fh:
                lines.extend(line.rstrip("\n") for line in fh)
    return lines


def rewrite_shuffled(source: Path, target: Path, seed: int = 13) -> None:
    """Each day's lines, shuffled, in five files named so that they sort the other way round
    (and one nested a folder deeper, as DESIGN allows)."""
    rng = random.Random(seed)
    for day in DAYS:
        lines = read_lines(source / day)
        rng.shuffle(lines)
        parts = [lines[i::5] for i in range(5)]
        for index, part in enumerate(parts):
            name = f"{'zyxwv'[index]}-part.jsonl"
            path = target / day / ("nested" if index == 4 else "") / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(line + "\n" for line in part))


def build(raw_dir: Path, work: Path, days: list[str]) -> Path:
    warehouse = work / "warehouse.duckdb"
    work.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("set timezone = 'UTC'")
        for day in days:
            load_day(conn, raw_dir, day)
        privacy.ensure_privacy_schema(conn, SALT)
    DbtProject(warehouse, work).build(select=["+path:dbt_project/models/marts"],
                                      extra=["--exclude-resource-type", "test", "unit_test"])
    return warehouse


def test_shuffled_and_recut_dumps_loaded_in_reverse_give_the_same_marts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CDP_PRIVACY_SALT", SALT)
    as_written = tmp_path / "as_written"
    generate(as_written, days=len(DAYS), customers=150, seed=11, start=START,
             files_per_day=3, duplicate_rate=0.05)
    write_differing_copies(as_written)
    shuffled = tmp_path / "shuffled"
    rewrite_shuffled(as_written, shuffled)
    assert sorted(read_lines(as_written / DAYS[0])) == sorted(read_lines(shuffled / DAYS[0]))

    first = build(as_written, tmp_path / "first", DAYS)
    second = build(shuffled, tmp_path / "second", list(reversed(DAYS)))

    with duckdb.connect(str(first), read_only=True) as conn:
        screen_views = conn.execute("select count(*) from marts.screen_views").fetchone()[0]
        sessions = conn.execute("select count(*) from marts.sessions").fetchone()[0]
        # the earliest copy won: clamped to the first receivedAt, in the first received day
        ahead = conn.execute(
            "select min(minute(viewed_at)), max(minute(viewed_at)) from marts.page_views "
            "where event_id like 'future-%'").fetchone()
        anchors = conn.execute(
            "select count(*) from marts.sessions where anonymous_id like 'again-%' "
            "and anchor_message_id like 'redelivered-%'").fetchone()[0]
    assert sessions > 100 and screen_views > 0
    assert ahead == (0, 0) and anchors == 4
    capsys.readouterr()
    differing = compare_marts.compare(str(first), str(second))
    report = capsys.readouterr().out
    assert differing == 0, report
