"""Shared end-to-end fixtures: the audience builds (built once for the audience tests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from support.audience_people import (
    build_1_messages,
    build_2_messages,
    snapshot,
    write_days,
)

from orchestration.cli import main
from orchestration.defs.runner import run_nightly_job


@pytest.fixture(scope="session")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Build 1, snapshot, erasure request, build 2; exports under CDP_EXPORT_DIR."""
    root = tmp_path_factory.mktemp("audiences")
    raw, warehouse, exports = root / "raw", root / "warehouse.duckdb", root / "exports"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CDP_EXPORT_DIR", str(exports))
        mp.setenv("CDP_WAREHOUSE", str(warehouse))
        mp.setenv("CDP_RAW_DIR", str(raw))
        state: dict[str, Any] = {"root": root, "warehouse": warehouse, "exports": exports}
        days = write_days(raw, build_1_messages())
        state["summary_1"] = run_nightly_job(raw, warehouse, days, echo=lambda _l: None)
        state["build_1"] = snapshot(warehouse, exports, root / "snapshot_1")
        shutil.copy(warehouse, root / "warehouse_1.duckdb")

        forget = CliRunner().invoke(
            main, ["forget", "--email", "frank@example.com", "--warehouse", str(warehouse)]
        )
        assert forget.exit_code == 0, forget.output
        days = write_days(raw, build_2_messages())
        state["summary_2"] = run_nightly_job(raw, warehouse, days, echo=lambda _l: None)
        state["build_2"] = snapshot(warehouse, exports, root / "snapshot_2")
        yield state
