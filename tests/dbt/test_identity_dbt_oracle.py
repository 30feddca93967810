"""Property test through dbt: random Segment messages, junk and messy emails included, give
the identity graph and conflicts of the reference resolver applied to the cleaned messages.

The messages carry anonymous ids, user ids and emails drawn from small pools (so customers
tangle and merge protection fires), junk values from seeds/junk_identifiers.csv in random case
and padding, and emails in mixed case with spaces around them. They are loaded with the real
loader and built with dbt (staging, identifiers, resolver, marts, with their data tests) in one
build. The expectation cleans the same messages in Python from the written rules (DESIGN,
Identity resolution: junk values link nothing; emails trimmed and lower-cased; identifiers
trimmed) and applies support.identity_oracle.naive_resolve.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path

import pandas as pd
import pytest
from support.dbt_project import REPO_ROOT, DbtProject, load_days, message, query, write_dump
from support.identity_oracle import naive_resolve

from orchestration.identity.rules import CONFLICT_COLUMNS, NODE_COLUMNS

pytestmark = pytest.mark.slow

DAY = "2026-05-04"
T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
MESSAGES = 150
SELECTION = ["+identity_graph", "+identity_conflicts"]


def junk_values() -> list[str]:
    with open(REPO_ROOT / "seeds" / "junk_identifiers.csv", newline="") as fh:
        return [row["identifier_value"] for row in csv.DictReader(fh)]


JUNK = junk_values()
JUNK_LOWER = {v.lower() for v in JUNK}


def messy(rng: random.Random, value: str) -> str:
    """The value in random case, sometimes padded with spaces."""
    value = "".join(c.upper() if rng.random() < 0.3 else c for c in value)
    return " " * rng.choice([0, 0, 1, 2]) + value + " " * rng.choice([0, 0, 1])


def draw(rng: random.Random, pool: list[str], junk_rate: float) -> str | None:
    """A value from the pool, a junk value, or nothing."""
    roll = rng.random()
    if roll < junk_rate:
        return messy(rng, rng.choice([*JUNK, "", "  "]))
    if roll < 0.75:
        return rng.choice(pool)
    return None


def random_segment_messages(rng: random.Random, n: int) -> list[dict]:
    anons = [f"anon-{i}" for i in range(40)]
    users = [f"user-{i}" for i in range(8)]
    emails = [f"person{i}@shop.example" for i in range(5)]
    out = []
    for i in range(n):
        anon = draw(rng, anons, 0.1)
        user = draw(rng, users, 0.15) if rng.random() < 0.6 else None
        email = None
        if rng.random() < 0.5:
            email = rng.choice([
                *(messy(rng, e) for e in emails), "not-an-email", "@x", "null@null.com",
                messy(rng, "NULL@null.com"), messy(rng, rng.choice(JUNK)),
            ])
        at = T0 + dt.timedelta(minutes=rng.choice([0, 0, 1, 2, 3, 5, 8]))  # many ties
        mid = f"p{rng.randrange(1000):03d}-{i:03d}"  # ties ordered by these ids
        if email is not None or rng.random() < 0.5:
            traits = {"email": email} if email is not None else {}
            out.append(message("identify", mid, at, anonymous_id=anon, user_id=user,
                               traits=traits))
        else:
            out.append(message("page", mid, at, anonymous_id=anon, user_id=user, path="/"))
    return out


def clean_identifier(value: str | None) -> str | None:
    """Trimmed; empty or a junk value (any case) is no identifier."""
    if value is None:
        return None
    value = value.strip(" ")
    return None if value == "" or value.lower() in JUNK_LOWER else value


def clean_email(value: str | None) -> str | None:
    """Trimmed and lower-cased; without a character either side of an "@", or junk: none."""
    if value is None:
        return None
    value = value.strip(" ").lower()
    return value if re.search(r".@.", value) and value not in JUNK_LOWER else None


def expected_input(messages: list[dict]) -> pd.DataFrame:
    """The resolver's input the rules give for these messages."""
    rows = []
    for msg in messages:
        at = pd.Timestamp(msg["timestamp"]).tz_convert("UTC").tz_localize(None)
        for identifier_type, value in (
            ("anonymous_id", clean_identifier(msg.get("anonymousId"))),
            ("user_id", clean_identifier(msg.get("userId"))),
            ("email", clean_email(msg.get("traits", {}).get("email"))),
        ):
            if value is not None:
                rows.append((msg["messageId"], at, identifier_type, value))
    frame = pd.DataFrame(rows, columns=["message_id", "event_at", "identifier_type",
                                        "identifier_value"])
    frame["event_at"] = frame["event_at"].astype("datetime64[ns]")
    return frame


def comparable(frame: pd.DataFrame, columns: list[str]) -> list[tuple]:
    """Rows as sorted tuples, times as naive UTC, counts as int, text as str."""
    def value(x: object) -> object:
        if isinstance(x, pd.Timestamp | dt.datetime):
            ts = pd.Timestamp(x)
            return (ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts).isoformat()
        return int(x) if isinstance(x, int | float) and not isinstance(x, bool) else str(x)

    return sorted(tuple(value(x) for x in row) for row in frame[columns].itertuples(index=False))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    tmp = tmp_path_factory.mktemp("identity-oracle")
    raw, warehouse = tmp / "raw", tmp / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir(parents=True)
    messages = random_segment_messages(random.Random(2026), MESSAGES)
    write_dump(raw, DAY, messages)
    load_days(warehouse, raw, [DAY])
    DbtProject(warehouse=warehouse, work_dir=tmp / "dbt").build(select=SELECTION)
    return warehouse, messages


def test_identity_marts_equal_the_reference_on_cleaned_messages(built) -> None:
    warehouse, messages = built
    expected_nodes, expected_conflicts = naive_resolve(expected_input(messages), 1)
    graph = query(warehouse, "select * from marts.identity_graph")
    conflicts = query(warehouse, "select * from marts.identity_conflicts")
    assert comparable(graph, NODE_COLUMNS) == comparable(expected_nodes, NODE_COLUMNS)
    assert comparable(conflicts, CONFLICT_COLUMNS) == comparable(expected_conflicts,
                                                                 CONFLICT_COLUMNS)
    # not vacuous: junk and messy emails were present, customers merged, conflicts recorded
    raw_emails = [m.get("traits", {}).get("email") for m in messages]
    assert any(e and e != e.strip().lower() for e in raw_emails)
    assert sum(clean_identifier(m.get("userId")) is None and m.get("userId") is not None
               for m in messages) >= 5
    assert len(expected_conflicts) >= 3
    assert expected_nodes.customer_id.nunique() < len(expected_nodes)
