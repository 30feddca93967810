"""Audience files without a build: atomic writes, discarding exports, definitions from meta."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.audiences import (
    Audience,
    atomic_write,
    audience_from_node,
    discard_exports,
)


def test_a_failed_write_leaves_the_previous_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "crm" / "vip.members.csv"
    atomic_write(target, lambda tmp: tmp.write_text("customer_id\nc_1\n"))

    def fail(tmp: Path) -> None:
        tmp.write_text("customer_id\nc_")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "customer_id\nc_1\n"
    assert [p.name for p in target.parent.iterdir()] == ["vip.members.csv"]
    assert (target.stat().st_mode & 0o777) == 0o600



def test_discard_exports_removes_only_audience_files(tmp_path):
    for name in ("crm/vip.members.csv", "crm/vip.members.parquet",
                 "google_ads/vip.customer_match.csv", "google_ads/README.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    assert len(discard_exports(tmp_path)) == 3
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["README.txt"]


def test_audience_definitions_come_from_the_model_meta():
    node = {
        "name": "audience__vip", "resource_type": "model", "description": "VIPs.\n",
        "config": {"meta": {"audience": {"condition": "revenue > 1000",
                                         "destinations": ["crm"]}}},
    }
    assert audience_from_node(node) == Audience(
        name="vip", description="VIPs.", condition="revenue > 1000",
        consent_category="Advertising", destinations=("crm",),
        traits=("user_id", "email", "first_name", "last_name"),
    )
    assert audience_from_node({"name": "customer_360", "config": {"meta": {}}}) is None
