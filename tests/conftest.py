"""Shared pytest fixtures. Keep this file small and generic; helpers live in tests/support/."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from support.dumps import write_dump_file

# Builds in tests run on a throw-away Dagster instance unless a test sets DAGSTER_HOME (or
# CDP_RECORD_RUNS=1): the project's own .dagster/ is for the developer's runs.
os.environ.setdefault("CDP_RECORD_RUNS", "0")


@pytest.fixture
def write_dump() -> Callable[..., Path]:
    """`write_dump(dir, day, name, lines, gz=False) -> Path`; see `write_dump_file`."""
    return write_dump_file
