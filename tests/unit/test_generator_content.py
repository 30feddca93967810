"""What the generated messages hold: every message type, traffic sources, sessions, identity
flows and edge cases, consent, clock skew, and the generator's options."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from support.generated_dumps import (
    START,
    TYPES,
    Line,
    _distinct,
    _event_time,
    _parse_time,
    _tracks,
)

from orchestration.generator import JUNK_EMAILS, JUNK_USER_IDS, GenerateStats, generate


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
    # guest checkout: an identify with an email but no userId before an order
    assert any(not m.get("userId") and {"email", "first_name"} <= set(m["traits"])
               for m in identifies)


def test_app_traffic_app_only_visitors_and_customers_on_app_and_web(
    rich: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, _stats, lines = rich
    messages = _distinct(lines)
    app_messages = [m for m in messages if "app" in m["context"]]
    screens = [m for m in messages if m["type"] == "screen"]
    # screens come from the app, and are a share of the traffic, not most of it
    assert screens and all("app" in m["context"] for m in screens)
    assert len(screens) < 0.2 * len(messages)
    # every app message carries the mobile context BI slices app sessions by
    for m in app_messages:
        context = m["context"]
        assert {"name", "version", "build"} <= set(context["app"])
        assert {"type", "model", "manufacturer"} <= set(context["device"])
        assert context["os"]["name"] in {"iOS", "Android"}
        assert context["network"]["wifi"] is not context["network"]["cellular"]
        assert context["network"]["carrier"]
        assert "page" not in context
    assert {m["context"]["os"]["name"] for m in app_messages} == {"iOS", "Android"}
    assert len({m["context"]["app"]["version"] for m in app_messages}) > 1
    # the app sends track events too
    assert any(m["type"] == "track" for m in app_messages)
    # app-only visitors: devices that only ever send app messages and never log in
    web_anons = {m["anonymousId"] for m in messages if "app" not in m["context"]}
    logged_anons = {m["anonymousId"] for m in messages if m.get("userId")}
    app_anons = {m["anonymousId"] for m in app_messages}
    assert app_anons - web_anons - logged_anons
    # customers on both: a user id that logs in in the app and on the website
    app_users = {m["userId"] for m in app_messages if m.get("userId")}
    web_users = {m["userId"] for m in messages
                 if "app" not in m["context"] and m["type"] == "page" and m.get("userId")}
    assert app_users & web_users


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
