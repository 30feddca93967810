"""Fixtures of the loader tests: a raw folder and a warehouse connection."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw"
    path.mkdir()
    return path


@pytest.fixture
def conn(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()
