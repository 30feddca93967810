"""Which files of a day folder are read, and empty or missing ones."""

from __future__ import annotations

from support.ingest_cases import (
    DAY,
    counts,
    events,
    line,
    load_log,
    quarantine,
)

from orchestration.ingest.duckdb_loader import load_day


def test_dump_files_at_any_depth_and_every_suffix_are_read(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("jsonl")])
    write_dump(raw, DAY, "x/b.json", [line("json")])
    write_dump(raw, DAY, "x/y/z/c.jsonl.gz", [line("jsonl-gz")], gz=True)
    write_dump(raw, DAY, "x/y/d.json.gz", [line("json-gz")], gz=True)
    write_dump(raw, DAY, "UPPER.JSONL.GZ", [line("upper-gz")], gz=True)
    for ignored in ["e.txt", "f.csv", "g.jsonl.bak", "h.gz", "x/README.md"]:
        write_dump(raw, DAY, ignored, [line(f"ignored-{ignored}")])

    report = load_day(conn, raw, DAY)

    assert events(conn) == [
        ("json", f"{DAY}/x/b.json", 1),
        ("json-gz", f"{DAY}/x/y/d.json.gz", 1),
        ("jsonl", f"{DAY}/a.jsonl", 1),
        ("jsonl-gz", f"{DAY}/x/y/z/c.jsonl.gz", 1),
        ("upper-gz", f"{DAY}/UPPER.JSONL.GZ", 1),
    ]
    assert report.files == 5
    assert counts(report) == (5, 5, 0, 0)


def test_empty_file_is_counted_in_empty_files(raw, conn, write_dump):
    write_dump(raw, DAY, "a.jsonl", [line("m1")])
    write_dump(raw, DAY, "sub/empty.jsonl", [])

    report = load_day(conn, raw, DAY)

    assert (report.files, report.empty_files) == (2, 1)
    assert counts(report) == (1, 1, 0, 0)
    assert quarantine(conn) == []


def test_empty_day_folder_loads_nothing_and_logs_zeros(raw, conn):
    (raw / DAY).mkdir()

    report = load_day(conn, raw, DAY)

    assert not report.folder_missing
    assert (report.files, *counts(report)) == (0, 0, 0, 0, 0)
    assert events(conn) == [] and quarantine(conn) == []
    assert load_log(conn) == (0, 0, 0, 0, 0, 0, 0)


def test_missing_day_folder_is_reported_not_raised(raw, conn):
    report = load_day(conn, raw, DAY)

    assert report.folder_missing
    assert (report.files, *counts(report)) == (0, 0, 0, 0, 0)
    assert events(conn) == [] and quarantine(conn) == []
