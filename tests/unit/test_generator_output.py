"""The generator's output: deterministic bytes, day folders of gzip files, and every line
counted as an event, a duplicate or a malformed line (`orchestration.generator`)."""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections import Counter, defaultdict
from pathlib import Path

from support.generated_dumps import (
    ISO_MS_Z,
    START,
    Line,
    _event_time,
    _parse_time,
    _read,
    _tree_bytes,
    _valid,
)

from orchestration.generator import GenerateStats, generate


def test_same_seed_and_start_give_identical_bytes(
    tmp_path: Path, small: tuple[Path, GenerateStats]
) -> None:
    first, first_stats = small
    again = generate(tmp_path, days=3, customers=50, seed=7, start=START)
    assert again == first_stats
    assert _tree_bytes(tmp_path) == _tree_bytes(first)


def test_different_seed_changes_output(tmp_path: Path, small: tuple[Path, GenerateStats]) -> None:
    first, _ = small
    generate(tmp_path, days=3, customers=50, seed=8, start=START)
    ours, theirs = _tree_bytes(first), _tree_bytes(tmp_path)
    assert ours.keys() == theirs.keys()
    assert all(ours[name] != theirs[name] for name in ours)
    ids = {m["messageId"] for m in _valid(_read(first))}
    assert ids.isdisjoint(m["messageId"] for m in _valid(_read(tmp_path)))


def test_workers_do_not_change_output(tmp_path: Path, small: tuple[Path, GenerateStats]) -> None:
    first, first_stats = small
    stats = generate(tmp_path, days=3, customers=50, seed=7, start=START, workers=2)
    assert stats == first_stats
    assert _tree_bytes(tmp_path) == _tree_bytes(first)


def test_default_start_is_today_minus_days(tmp_path: Path) -> None:
    generate(tmp_path, days=2, customers=5)
    today = dt.datetime.now(dt.UTC).date()
    folders = sorted(p.name for p in tmp_path.iterdir())
    # (tolerate the test running across midnight UTC)
    assert folders in (
        [str(today - dt.timedelta(days=2)), str(today - dt.timedelta(days=1))],
        [str(today - dt.timedelta(days=3)), str(today - dt.timedelta(days=2))],
    )


# --- layout and accounting --------------------------------------------------------------


def test_layout_is_day_folders_of_gzip_files_written_atomically(
    small: tuple[Path, GenerateStats],
) -> None:
    out, stats = small
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        f"{START + dt.timedelta(days=d)}/events-{i:03d}.jsonl.gz"
        for d in range(3) for i in range(2)
    ]
    assert stats.days == 3 and stats.files == 6
    assert not [p for p in out.rglob(".*")], "temporary files left behind"
    for name in files:
        data = (out / name).read_bytes()
        assert data[:2] == b"\x1f\x8b"
        assert gzip.decompress(data).endswith(b"\n")


def test_every_line_is_counted_as_event_duplicate_or_malformed(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, stats, lines = rich
    valid = [ln.message for ln in lines if ln.message is not None]
    distinct = {m["messageId"] for m in valid}
    malformed = [ln for ln in lines if ln.reason is not None]
    assert stats.lines == len(lines)
    assert stats.events == len(distinct)
    assert stats.duplicates == len(valid) - len(distinct)
    assert stats.malformed == len(malformed)
    assert stats.lines == stats.events + stats.duplicates + stats.malformed
    assert stats.customers == 300
    assert stats.as_dict()["events"] == stats.events
    # no blank lines: every physical line is a message or a deliberate malformed one
    assert all(ln.text.strip() for ln in lines)


def test_default_rates_are_small_shares(tmp_path: Path) -> None:
    stats = generate(tmp_path, days=3, customers=300, seed=5, start=START)
    assert 0.002 < stats.duplicates / stats.events < 0.03
    assert 0 < stats.malformed / stats.lines < 0.006


def test_message_ids_are_never_reused_except_by_copies(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    by_id: dict[str, list[dict]] = defaultdict(list)
    for msg in _valid(lines):
        by_id[msg["messageId"]].append(msg)
    ignore = {"receivedAt", "sentAt"}
    for copies in by_id.values():
        first = {k: v for k, v in copies[0].items() if k not in ignore}
        for other in copies[1:]:
            assert {k: v for k, v in other.items() if k not in ignore} == first
            # a retry never changes the (clock-corrected) event time
            assert _event_time(other) == _event_time(copies[0])
    assert all(re.fullmatch(r"msg-[0-9a-f]{32}", mid) for mid in by_id)


def test_duplicates_land_in_same_file_other_file_and_next_day(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    first_seen: dict[str, Line] = {}
    where = Counter()
    for ln in sorted(lines, key=lambda x: (x.folder, x.file, x.number)):
        if ln.message is None:
            continue
        mid = ln.message["messageId"]
        if mid not in first_seen:
            first_seen[mid] = ln
            continue
        orig = first_seen[mid]
        if orig.file == ln.file:
            where["same file"] += 1
        elif orig.folder == ln.folder:
            where["other file, same day"] += 1
        else:
            where["later day"] += 1
            assert ln.folder > orig.folder
        where["identical bytes" if ln.text == orig.text else "later receivedAt"] += 1
    assert set(where) == {"same file", "other file, same day", "later day", "identical bytes",
                          "later receivedAt"}, where


def test_folder_is_utc_received_date(rich: tuple[Path, GenerateStats, list[Line]]) -> None:
    _out, _stats, lines = rich
    later = 0
    for ln in lines:
        if ln.message is None:
            continue
        assert ISO_MS_Z.match(ln.message["receivedAt"])
        assert ln.message["receivedAt"][:10] == ln.folder
        event_day = _event_time(ln.message).date().isoformat()
        assert event_day <= ln.folder
        later += event_day < ln.folder
    assert later > 0  # late deliveries and events just before midnight received after it
    late = [ln for ln in lines if ln.message is not None
            and (_parse_time(ln.message["receivedAt"]) - _event_time(ln.message))
            >= dt.timedelta(days=1)]
    assert late, "some messages must arrive a day or more after they happened"


def test_malformed_lines_cover_every_kind_and_are_spread_over_days(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    bad = [ln for ln in lines if ln.reason is not None]
    reasons = Counter(ln.reason for ln in bad)
    assert set(reasons) == {"invalid JSON", "not an object", "missing type", "unknown type",
                            "missing messageId", "no usable time"}, reasons
    assert {ln.folder for ln in bad} == {str(START + dt.timedelta(days=d)) for d in range(3)}
    texts = [ln.text for ln in bad]
    assert any(t.startswith("[") for t in texts)  # an array
    assert any(t.startswith('"') for t in texts)  # a double-encoded string
    assert any('"type":"pageview"' in t for t in texts)
    assert any('"not-a-date"' in t for t in texts)
    # malformed lines never reuse a valid message's id
    valid_ids = {m["messageId"] for m in _valid(lines)}
    bad_ids = {mid for t in texts for mid in re.findall(r"msg-[0-9a-f]{32}", t)}
    assert bad_ids and bad_ids.isdisjoint(valid_ids)
