"""Unit-test fixtures: two generated dumps, shared by the generator tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.generated_dumps import (
    START,
    Line,
    _read,
)

from orchestration.generator import GenerateStats, generate


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats]:
    out = tmp_path_factory.mktemp("small")
    return out, generate(out, days=3, customers=50, seed=7, start=START)


@pytest.fixture(scope="session")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerateStats, list[Line]]:
    """A few hundred customers with raised error rates, so that rare cases all occur."""
    out = tmp_path_factory.mktemp("rich")
    stats = generate(out, days=3, customers=300, seed=11, start=START, malformed_rate=0.03,
                     duplicate_rate=0.25)
    return out, stats, _read(out)
