"""Shared pytest fixtures. Keep this file small and generic; helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from support.dumps import write_dump_file


@pytest.fixture
def write_dump() -> Callable[..., Path]:
    """`write_dump(dir, day, name, lines, gz=False) -> Path`; see `write_dump_file`."""
    return write_dump_file
