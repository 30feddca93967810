"""Tests of the synthetic Segment dump generator (`orchestration.generator`).

Every test re-reads the written files and recounts independently of the generator's own
bookkeeping, applying the rules of DESIGN.md ("Input: raw event dumps").
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestration.generator import JUNK_EMAILS, JUNK_USER_IDS, GenerateStats, generate

START = dt.date(2026, 10, 1)
TYPES = {"identify", "track", "page", "screen", "alias", "group"}
TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@dataclass
class Line:
    folder: str
    file: Path
    number: int
    text: str
    message: dict | None  # a valid message, else None
    reason: str | None  # why the line must be quarantined


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not ISO_MS_Z.match(value):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _classify(text: str) -> tuple[dict | None, str | None]:
    """The DESIGN.md validity rules, implemented independently of the generator."""
    try:
        msg = json.loads(text)
    except json.JSONDecodeError:
        return None, "invalid JSON"
    if not isinstance(msg, dict):
        return None, "not an object"
    if not msg.get("type"):
        return None, "missing type"
    if msg["type"] not in TYPES:
        return None, "unknown type"
    if not msg.get("messageId"):
        return None, "missing messageId"
    if all(_parse_time(msg.get(f)) is None for f in ("timestamp", "originalTimestamp",
                                                    "receivedAt")):
        return None, "no usable time"
    return msg, None


def _read(out: Path) -> list[Line]:
    lines = []
    for path in sorted(out.rglob("*")):
        if path.is_dir():
            continue
        assert path.name.endswith(".jsonl.gz"), path
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            for number, raw in enumerate(fh, start=1):
                text = raw.rstrip("\n")
                msg, reason = _classify(text)
                lines.append(Line(path.parent.name, path, number, text, msg, reason))
    return lines


def _event_time(msg: dict) -> dt.datetime:
    """Event time as DESIGN.md defines it."""
    ts = _parse_time(msg.get("timestamp"))
    if ts is not None:
        return ts
    orig = _parse_time(msg.get("originalTimestamp"))
    recv = _parse_time(msg.get("receivedAt"))
    sent = _parse_time(msg.get("sentAt"))
    if orig is not None:
        return orig + (recv - sent if recv is not None and sent is not None else dt.timedelta())
    assert recv is not None
    return recv


def _valid(lines: list[Line]) -> list[dict]:
    return [ln.message for ln in lines if ln.message is not None]


def _distinct(lines: list[Line]) -> list[dict]:
    """One message per messageId: the copy received first."""
    seen: dict[str, dict] = {}
    for msg in _valid(lines):
        mid = msg["messageId"]
        if mid not in seen or msg["receivedAt"] < seen[mid]["receivedAt"]:
            seen[mid] = msg
    return list(seen.values())


def _tracks(messages: list[dict], event: str) -> list[dict]:
    return [m for m in messages if m["type"] == "track" and m.get("event") == event]


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, days=3, customers=50, seed=7, start=START)


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats, list[Line]]:
    """A few hundred customers with raised error rates, so that rare cases all occur."""
    out = tmp_path_factory.mktemp("rich")
    stats = generate(out, days=3, customers=300, seed=11, start=START, malformed_rate=0.03,
                     duplicate_rate=0.25)
    return out, stats, _read(out)


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- determinism ------------------------------------------------------------------------


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


# --- content ----------------------------------------------------------------------------


def test_contains_every_message_type_and_order_completed_with_order_id(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    messages = _distinct(lines)
    assert {m["type"] for m in messages} == TYPES
    events = {m["event"] for m in messages if m["type"] == "track"}
    assert {"Product Viewed", "Product Added", "Checkout Started", "Signed Up",
            "Order Completed"} <= events
    orders = _tracks(messages, "Order Completed")
    order_ids = [o["properties"]["order_id"] for o in orders]
    assert len(order_ids) == len(set(order_ids)) > 5
    with_revenue = [o for o in orders if "revenue" in o["properties"]]
    only_total = [o for o in orders
                  if "revenue" not in o["properties"] and "total" in o["properties"]]
    assert with_revenue and only_total and len(with_revenue) + len(only_total) == len(orders)
    for o in orders:
        props = o["properties"]
        amount = props.get("revenue", props.get("total"))
        assert isinstance(amount, float | int) and amount > 0
        assert round(amount, 2) == amount
        assert props["currency"] in {"USD", "EUR", "GBP"}
        assert props["products"] and all("sku" in p and "price" in p for p in props["products"])


def test_pages_carry_context_page_and_traffic_sources(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    pages = [m for m in _distinct(lines) if m["type"] == "page"]
    for m in pages:
        page = m["context"]["page"]
        assert set(page) == {"url", "path", "referrer", "title", "search"}
        assert page["url"].startswith("https://") and page["path"].startswith("/")
        assert m["properties"]["url"] == page["url"] and m["name"]
        assert m["context"]["library"]["name"] in {"analytics.js", "RudderLabs JavaScript SDK"}
        assert m["context"]["userAgent"] and m["context"]["ip"] and m["context"]["locale"]
    paths = {m["context"]["page"]["path"].rstrip("/") or "/" for m in pages}
    assert {"/", "/pricing", "/cart", "/checkout", "/signup", "/login", "/account"} <= paths
    assert any(p.startswith("/blog/") for p in paths)
    assert any(p.startswith("/docs/") for p in paths)
    assert any(p.startswith("/products/") for p in paths)
    urls = [m["context"]["page"]["url"] for m in pages]
    assert any(u.endswith("/") and u.count("/") > 3 for u in urls)  # trailing slash
    assert any("#" in u for u in urls)
    assert any("?ref=" in u for u in urls)
    campaigns = [m for m in pages if "campaign" in m["context"]]
    assert campaigns
    for m in campaigns:
        camp, url = m["context"]["campaign"], m["context"]["page"]["url"]
        assert f"utm_source={camp['source']}" in url and f"utm_campaign={camp['name']}" in url
    referrers = {m["context"]["page"]["referrer"] for m in pages}
    assert "https://www.google.com/" in referrers and "" in referrers
    assert any("t.co" in r or "facebook" in r or "linkedin" in r for r in referrers)
    assert "https://mail.google.com/" in referrers


def test_some_browsers_send_a_tracker_session_id(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    web = [m for m in _distinct(lines) if m["type"] in ("page", "track")]
    with_id = [m for m in web if "sessionId" in m["context"]]
    assert 0 < len(with_id) < 0.3 * len(web)
    assert all(isinstance(m["context"]["sessionId"], int) for m in with_id)
    assert all(m["context"]["library"]["name"] == "RudderLabs JavaScript SDK" for m in with_id)


def test_sessions_have_bounces_and_multi_page_visits(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    by_anon: dict[str, list[dt.datetime]] = defaultdict(list)
    for m in _distinct(lines):
        if m["type"] in ("page", "track"):
            by_anon[m["anonymousId"]].append(_event_time(m))
    sizes = []
    for times in by_anon.values():
        times.sort()
        size = 1
        for a, b in zip(times, times[1:], strict=False):
            if b - a > dt.timedelta(minutes=30):
                sizes.append(size)
                size = 0
            size += 1
        sizes.append(size)
    assert sizes.count(1) > 0.1 * len(sizes)  # bounces
    assert max(sizes) >= 8


def test_identity_flows_and_edge_cases(rich: tuple[Path, GenerateStats, list[Line]]) -> None:
    _out, _stats, lines = rich
    messages = _distinct(lines)
    identifies = [m for m in messages if m["type"] == "identify"]
    # sign-ups: identify with full traits and a Signed Up track
    full = [m for m in identifies if {"email", "first_name", "last_name", "plan", "created_at"}
            <= set(m["traits"])]
    assert full and all(re.fullmatch(r"u_\d{6}", m["userId"]) for m in full)
    assert _tracks(messages, "Signed Up")
    phones = [m["traits"]["phone"] for m in full if "phone" in m["traits"]]
    assert any(p.startswith("+") for p in phones) and any(p.startswith("(") for p in phones)
    # emails needing normalisation, and identifies with only context.traits.email
    emails = [m["traits"].get("email") or m["context"].get("traits", {}).get("email")
              for m in identifies]
    assert any(e and e != e.strip() for e in emails)
    assert any(e and e.strip() != e.strip().lower() for e in emails)
    assert any("email" in m["context"].get("traits", {}) and "email" not in m["traits"]
               for m in identifies)
    # one user on several devices: the same userId identifies from several anonymousIds
    anons_per_user: dict[str, set[str]] = defaultdict(set)
    for m in identifies:
        if m.get("userId") and m["userId"].startswith("u_"):
            anons_per_user[m["userId"]].add(m["anonymousId"])
    assert any(len(a) > 1 for a in anons_per_user.values())
    # the kiosk: one anonymousId identified by two users, the first user first
    users_per_anon: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for m in identifies:
        if m.get("userId") and m["userId"].startswith("u_"):
            users_per_anon[m["anonymousId"]].append((_event_time(m), m["userId"]))
    kiosks = {a: sorted(v) for a, v in users_per_anon.items() if len({u for _, u in v}) > 1}
    assert kiosks
    # aliases link the anonymous id to the new user id
    aliases = [m for m in messages if m["type"] == "alias"]
    assert aliases and all(a["previousId"] == a["anonymousId"] and a["userId"] for a in aliases)
    # logged-in traffic carries the userId, but only once the device identified (or aliased)
    assert any(m["type"] == "page" and m.get("userId", "").startswith("u_") for m in messages
               if isinstance(m.get("userId"), str))
    first: dict[tuple[str, str], tuple[dt.datetime, str]] = {}
    for m in messages:
        uid = m.get("userId")
        if not (isinstance(uid, str) and uid.startswith("u_")) or "sentAt" not in m:
            continue  # (receivedAt-only messages carry their arrival time, not event time)
        key = (m["anonymousId"], uid)
        if key not in first or _event_time(m) < first[key][0]:
            first[key] = (_event_time(m), m["type"])
    linked = {(m["anonymousId"], m["userId"]) for m in messages if m["type"] in
              ("identify", "alias") and "sentAt" in m}
    # (an identify may be missing when its visit is delivered after the last day)
    assert {kind for key, (_, kind) in first.items() if key in linked} == {"identify", "alias"}
    # junk identifiers
    junk = {m["userId"] for m in messages if m.get("userId") in JUNK_USER_IDS}
    assert junk
    assert any(m["traits"].get("email") in JUNK_EMAILS for m in identifies)
    # groups for B2B users
    groups = [m for m in messages if m["type"] == "group"]
    assert groups and all(g["groupId"] and {"name", "industry"} <= set(g["traits"])
                          for g in groups)
    # a few screens from the mobile app
    screens = [m for m in messages if m["type"] == "screen"]
    assert 0 < len(screens) < 0.1 * len(messages)
    # guest checkout: an identify with an email but no userId before an order
    assert any(not m.get("userId") and {"email", "first_name"} <= set(m["traits"])
               for m in identifies)


def test_consent_preferences_mostly_granted_some_denied_and_some_flip(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    prefs_by_anon: dict[str, list[tuple[dt.datetime, bool]]] = defaultdict(list)
    counts = Counter()
    for m in _distinct(lines):
        consent = m["context"].get("consent")
        if consent is None:
            counts["none"] += 1
            continue
        prefs = consent["categoryPreferences"]
        assert set(prefs) == {"Analytics", "Advertising"}
        counts[prefs["Analytics"]] += 1
        prefs_by_anon[m["anonymousId"]].append((_event_time(m), prefs["Analytics"]))
    assert counts[True] > 5 * counts[False] > 0 and counts["none"] > 0
    flipped = [a for a, v in prefs_by_anon.items()
               if [x for _, x in sorted(v)][0] is False and sorted(v)[-1][1] is True]
    assert flipped


def test_some_messages_need_clock_correction(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    messages = _distinct(lines)
    skewed = [m for m in messages if "timestamp" not in m and "originalTimestamp" in m]
    assert 0.01 < len(skewed) / len(messages) < 0.06
    big = 0
    for m in skewed:
        orig = _parse_time(m["originalTimestamp"])
        sent, recv = _parse_time(m["sentAt"]), _parse_time(m["receivedAt"])
        assert orig is not None and sent is not None and recv is not None
        corrected = orig + (recv - sent)
        assert corrected <= recv
        if sent - orig < dt.timedelta(seconds=1):  # sent right away (not batched, late, retried)
            # the corrected time is the true time plus network latency
            assert recv - corrected < dt.timedelta(seconds=2)
        big += abs(corrected - orig) >= dt.timedelta(minutes=2)
    assert big == len(skewed)
    only_received = [m for m in messages if not set(m) & {"timestamp", "originalTimestamp",
                                                           "sentAt"}]
    assert only_received
    for m in messages:
        if "timestamp" in m:
            sent, ts = _parse_time(m["sentAt"]), _parse_time(m["timestamp"])
            assert m["originalTimestamp"] == m["timestamp"]
            assert sent is not None and ts is not None and sent >= ts


def test_events_target_scales_volume(tmp_path: Path) -> None:
    small = generate(tmp_path / "a", days=3, seed=3, start=START, events=6_000)
    large = generate(tmp_path / "b", days=3, seed=3, start=START, events=18_000)
    assert abs(small.events - 6_000) <= 0.15 * 6_000
    assert abs(large.events - 18_000) <= 0.15 * 18_000
    assert 2.5 < large.customers / small.customers < 3.5


def test_never_writes_outside_out_and_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    out.mkdir()
    (out / "README.txt").write_text("keep me")
    before = {p for p in tmp_path.iterdir()}
    generate(out, days=1, customers=5, start=START)
    assert {p for p in tmp_path.iterdir()} == before
    assert (out / "README.txt").read_text() == "keep me"


@pytest.mark.parametrize(
    "kwargs",
    [{"days": 0}, {"customers": 0}, {"files_per_day": 0}, {"malformed_rate": 0.9},
     {"events": 0}],
)
def test_rejects_invalid_arguments(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        generate(tmp_path, start=START, **kwargs)
