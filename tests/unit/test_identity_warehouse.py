"""Identity resolution inside DuckDB (integer-coded) gives exactly resolve()'s rows."""

from __future__ import annotations

import random

import duckdb
import numpy as np
import pandas as pd
import pytest
from test_identity import BX, KIOSK, A, B, K, Message, frame, random_messages

from orchestration.identity.resolver import resolve, resolve_codes
from orchestration.identity.warehouse import OUTPUT_COLUMNS, resolve_in_duckdb

TRICKY: list[Message] = [
    # equal event times ordered by message id; values that sort differently by case and
    # by code point (DuckDB and Python must agree); an "other" type with the value of an
    # anonymous id; quotes in values
    ("m2", 0, [("anonymous_id", "Zeta"), ("user_id", "ü-1")]),
    ("m1", 0, [("anonymous_id", "zeta"), ("user_id", "u-1")]),
    ("m3", 5, [("anonymous_id", "Zeta"), ("user_id", "u-1"), ("email", "o'neil@x")]),
    ("m4", 5, [("phone", "zeta"), ("anonymous_id", "zeta"), ("device", "zeta")]),
    ("m5", 7, [("user_id", "é"), ("user_id", "e"), ("anonymous_id", "a\u00a0b")]),
]


def in_duckdb(df: pd.DataFrame, max_user_ids: int) -> pd.DataFrame:
    conn = duckdb.connect()
    conn.register("input_frame", df)
    conn.execute("create table identifiers as select * from input_frame")
    return resolve_in_duckdb(conn, "identifiers", max_user_ids).df()


def in_python(df: pd.DataFrame, max_user_ids: int) -> pd.DataFrame:
    res = resolve(df, max_user_ids_per_customer=max_user_ids)
    combined = pd.concat(
        [res.nodes.assign(record_type="node"), res.conflicts.assign(record_type="conflict")],
        ignore_index=True,
    )
    return combined.reindex(columns=OUTPUT_COLUMNS)


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    def normal(f: pd.DataFrame) -> list[tuple]:
        def value(x: object) -> object:
            if x is None or x is pd.NA or (isinstance(x, float) and np.isnan(x)):
                return None
            return int(x) if isinstance(x, (int, float, np.integer)) else x

        return [tuple(value(x) for x in row) for row in f.astype(object).itertuples(index=False)]

    assert list(got.columns) == OUTPUT_COLUMNS
    assert normal(got) == normal(expected)  # same rows, same (canonical) order


@pytest.mark.parametrize("max_user_ids", [1, 2])
def test_warehouse_resolution_equals_python_on_hand_made_cases(max_user_ids: int) -> None:
    for messages in (KIOSK, TRICKY, [("m1", 0, [K, A]), ("m2", 1, [K, B]), ("m3", 2, [BX, B])]):
        df = frame(messages)
        assert_same_rows(in_duckdb(df, max_user_ids), in_python(df, max_user_ids))


@pytest.mark.parametrize("max_user_ids", [1, 2])
def test_warehouse_resolution_equals_python_on_random_tangled_graphs(max_user_ids: int) -> None:
    rng = random.Random(7)
    for _ in range(60):
        df = frame(random_messages(rng, rng.randrange(1, 40)))
        assert_same_rows(in_duckdb(df, max_user_ids), in_python(df, max_user_ids))


def test_warehouse_resolution_of_no_rows_is_empty_with_the_output_columns() -> None:
    got = in_duckdb(frame([]), 1)
    assert len(got) == 0 and list(got.columns) == OUTPUT_COLUMNS


@pytest.mark.parametrize("column", ["message_id", "event_at", "identifier_type",
                                    "identifier_value"])
def test_null_input_is_rejected_naming_the_column(column: str) -> None:
    df = frame(KIOSK)
    df[column] = df[column].astype(object)
    df.loc[1, column] = None
    with pytest.raises(ValueError, match=f"null {column}"):
        in_duckdb(df, 1)


def test_codes_must_number_every_message_and_node_in_order() -> None:
    ok = dict(message=np.array([0, 0, 1]), node=np.array([0, 1, 1]),
              node_is_user_id=np.array([True, False]), message_time=np.array([1, 2]))
    assert resolve_codes(**ok).stats["customers"] == 1
    with pytest.raises(ValueError, match="message numbers"):
        resolve_codes(**{**ok, "message": np.array([0, 0, 2])})
    with pytest.raises(ValueError, match="node numbers"):
        resolve_codes(**{**ok, "node_is_user_id": np.array([True, False, False])})
    with pytest.raises(ValueError, match="ascending"):
        resolve_codes(**{**ok, "message_time": np.array([2, 1])})
