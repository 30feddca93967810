"""The light traffic profile (`generate(profile="light")`): the same visitors and journeys as
the standard profile, web only, with short payloads; deterministic like it."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
from support.generated_dumps import (
    START,
    TYPES,
    Line,
    _distinct,
    _read,
    _tracks,
    _tree_bytes,
)

from orchestration.generator import GenerateStats, generate

ARGS = {"days": 3, "customers": 300, "seed": 11, "start": START, "malformed_rate": 0.03,
        "duplicate_rate": 0.25}


@pytest.fixture(scope="module")
def light(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats, list[Line]]:
    out = tmp_path_factory.mktemp("light")
    stats = generate(out, profile="light", **ARGS)
    return out, stats, _read(out)


def test_light_output_depends_only_on_the_arguments(
    tmp_path: Path, light: tuple[Path, GenerateStats, list[Line]]
) -> None:
    first, first_stats, _ = light
    again = generate(tmp_path, profile="light", workers=2, **ARGS)
    assert again == first_stats
    assert _tree_bytes(tmp_path) == _tree_bytes(first)


def test_light_payloads_are_web_only_and_short(
    rich: tuple[Path, GenerateStats, list[Line]],
    light: tuple[Path, GenerateStats, list[Line]],
) -> None:
    standard, lighter = _distinct(rich[2]), _distinct(light[2])
    assert {m["type"] for m in lighter} == TYPES - {"screen"}  # no mobile apps
    for m in lighter:
        assert set(m["context"]) <= {"ip", "consent", "sessionId", "page", "traits"}, m
        if m["type"] == "page":
            assert set(m["context"]["page"]) == {"path", "referrer", "url"}
            assert set(m["properties"]) == {"title"}
    mean = {name: sum(len(str(m)) for m in msgs) / len(msgs)
            for name, msgs in (("standard", standard), ("light", lighter))}
    assert mean["light"] < 0.75 * mean["standard"]
    # the utm parameters stay in the landing url, where the session models read them
    assert any("utm_source=" in m["context"]["page"]["url"] for m in lighter
               if m["type"] == "page")


def test_light_traffic_keeps_every_journey_and_every_flaw(
    light: tuple[Path, GenerateStats, list[Line]],
) -> None:
    _out, stats, lines = light
    messages = _distinct(lines)
    events = Counter(m["event"] for m in messages if m["type"] == "track")
    assert {"Product Viewed", "Product Added", "Checkout Started", "Signed Up",
            "Order Completed"} <= set(events)
    for order in _tracks(messages, "Order Completed"):
        props = order["properties"]
        assert set(props) in ({"order_id", "revenue", "currency"},
                              {"order_id", "total", "currency"})
    identifies = [m for m in messages if m["type"] == "identify"]
    assert any(m.get("userId") and m["traits"].get("email") for m in identifies)  # sign-ups
    assert any("email" in m["context"].get("traits", {}) for m in identifies)
    # several page views per visit for some visitors, a single one (a bounce) for others
    pages_per_visit: dict[str, int] = defaultdict(int)
    for m in messages:
        if m["type"] == "page":
            pages_per_visit[m["messageId"][:28]] += 1  # msg- and 24 hex: the visit
    assert max(pages_per_visit.values()) >= 4 and min(pages_per_visit.values()) == 1
    assert stats.duplicates > 0 and stats.malformed > 0
