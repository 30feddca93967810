"""`explain_path`: the chain of messages joining an identifier to its customer's anchor."""

from __future__ import annotations

import pandas as pd
import pytest
from support.identity_cases import ts

from orchestration.identity.explain import explain_path


def chain_edges() -> pd.DataFrame:
    rows = [
        ("anonymous_id", "anon1", "email", "e@x", "m1", ts(0)),
        ("anonymous_id", "anon2", "email", "e@x", "m2", ts(1)),
        ("anonymous_id", "anon2", "user_id", "u1", "m3", ts(2)),
        ("user_id", "u1", "anonymous_id", "anon3", "m4", ts(3)),
        ("anonymous_id", "anon2", "user_id", "u1", "m0", ts(5)),  # later duplicate edge
        ("anonymous_id", "other", "email", "o@x", "m9", ts(0)),
    ]
    return pd.DataFrame(
        rows, columns=["a_type", "a_value", "b_type", "b_value", "message_id", "first_seen_at"]
    )


def test_explain_path_returns_the_hops_from_start_to_anchor() -> None:
    hops = explain_path(chain_edges(), ("anonymous_id", "anon1"), ("user_id", "u1"))
    assert [(h["from_value"], h["to_value"], h["message_id"]) for h in hops] == [
        ("anon1", "e@x", "m1"),
        ("e@x", "anon2", "m2"),
        ("anon2", "u1", "m3"),  # the earliest of the two edges
    ]
    assert hops[0] == {
        "from_type": "anonymous_id",
        "from_value": "anon1",
        "to_type": "email",
        "to_value": "e@x",
        "message_id": "m1",
        "first_seen_at": ts(0),
    }


def test_explain_path_follows_edges_in_both_directions() -> None:
    hops = explain_path(chain_edges(), ("anonymous_id", "anon3"), ("email", "e@x"))
    assert [h["to_value"] for h in hops] == ["u1", "anon2", "e@x"]


def test_explain_path_is_empty_for_the_anchor_itself() -> None:
    assert explain_path(chain_edges(), ("user_id", "u1"), ("user_id", "u1")) == []


def test_explain_path_raises_when_not_connected() -> None:
    with pytest.raises(ValueError, match="not connected"):
        explain_path(chain_edges(), ("anonymous_id", "anon1"), ("email", "o@x"))
