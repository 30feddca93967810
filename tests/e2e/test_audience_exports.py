"""Audience exports: one folder per destination, consent, erasure, customer-match hashing,
the asset's numbers and `cdp audiences` (the builds are in tests/e2e/conftest.py)."""

from __future__ import annotations

import dagster as dg
from click.testing import CliRunner
from support.audience_people import (
    everything_exported,
    parquet_ids,
    read_csv,
    who,
)

from orchestration.audiences import (
    sha256_hex,
)
from orchestration.cli import main


def test_exports_one_folder_per_destination_with_csv_parquet_and_customer_match(builds):
    folder = builds["build_1"]["exports"]
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        "crm/dormant_signups.customer_match.csv", "crm/dormant_signups.members.csv",
        "crm/dormant_signups.members.parquet",
        "crm/high_value.customer_match.csv", "crm/high_value.members.csv",
        "crm/high_value.members.parquet",
        "google_ads/high_value.customer_match.csv", "google_ads/high_value.members.csv",
        "google_ads/high_value.members.parquet",
        "google_ads/pricing_intent.customer_match.csv", "google_ads/pricing_intent.members.csv",
        "google_ads/pricing_intent.members.parquet",
        "meta_ads/pricing_intent.customer_match.csv", "meta_ads/pricing_intent.members.csv",
        "meta_ads/pricing_intent.members.parquet",
    ]
    ids = builds["build_1"]["ids"]
    rows = read_csv(folder / "crm" / "high_value.members.csv")
    assert list(rows[0]) == ["customer_id", "entered_at", "user_id", "email", "first_name",
                             "last_name", "orders", "revenue"]
    assert {(r["user_id"], r["email"], r["orders"], r["revenue"]) for r in rows} == {
        ("u-bob", "bob@example.com", "1", "600"),
        ("u-frank", "frank@example.com", "1", "550"),
    }
    assert parquet_ids(folder / "crm" / "high_value.members.parquet") == {
        r["customer_id"] for r in rows}
    # Customer match: hashed, normalised email and E.164 phone; Ivy has neither, so no row.
    match = read_csv(folder / "google_ads" / "pricing_intent.customer_match.csv")
    assert match == [{"Email": sha256_hex("alice@example.com"),
                      "Phone": sha256_hex("+15559876543")}]
    assert who(ids, parquet_ids(
        folder / "meta_ads" / "pricing_intent.members.parquet")) == {"alice", "ivy"}
    assert {r["Email"] for r in read_csv(folder / "google_ads" / "high_value.customer_match.csv")
            } == {sha256_hex("bob@example.com"), sha256_hex("frank@example.com")}
    for path in folder.rglob("*.csv"):
        assert (path.stat().st_mode & 0o777) == 0o600
    assert not list(folder.rglob("*.tmp"))


def test_a_customer_without_advertising_consent_is_not_exported_until_they_grant_it(builds):
    dave_1 = builds["build_1"]["ids"]["u-dave"]
    erin = builds["build_1"]["ids"]["u-erin"]
    exported, text = everything_exported(builds["build_1"]["exports"])
    assert dave_1 not in exported and erin not in exported
    assert sha256_hex("dave@example.com") not in text and "dave@example.com" not in text

    folder = builds["build_2"]["exports"]
    dave_2 = builds["build_2"]["ids"]["u-dave"]
    assert {r["customer_id"] for r in read_csv(
        folder / "google_ads" / "pricing_intent.members.csv")} == {dave_2}
    assert read_csv(folder / "meta_ads" / "pricing_intent.customer_match.csv") == [
        {"Email": sha256_hex("dave@example.com"), "Phone": ""}
    ]


def test_an_erased_customer_is_in_no_export(builds):
    frank = builds["build_1"]["ids"]["u-frank"]
    exported_1, text_1 = everything_exported(builds["build_1"]["exports"])
    assert frank in exported_1 and sha256_hex("frank@example.com") in text_1

    assert "u-frank" not in builds["build_2"]["ids"]
    exported_2, text_2 = everything_exported(builds["build_2"]["exports"])
    assert frank not in exported_2
    for needle in ("frank@example.com", "u-frank", sha256_hex("frank@example.com"),
                   sha256_hex("+15551234567")):
        assert needle not in text_2
    # The files of the live export folder are the second build's.
    assert everything_exported(builds["exports"])[0] == exported_2


def test_audience_exports_asset_reports_plottable_numbers_per_audience(builds):
    from orchestration.defs.audiences import audience_exports
    from orchestration.defs.resources import WarehouseResource

    # Files of an audience no longer exported go; other files in the folders stay.
    stale = builds["exports"] / "google_ads" / "old_audience.customer_match.csv"
    stale.write_text("Email,Phone\n")
    notes = builds["exports"] / "google_ads" / "notes.txt"
    notes.write_text("not ours")
    result = dg.materialize(
        [audience_exports],
        resources={"warehouse": WarehouseResource(warehouse=str(builds["warehouse"]))},
    )  # unpartitioned: the exports are rebuilt whole
    assert result.success
    meta = {k: v.value for k, v in
            result.asset_materializations_for_node("activation__audience_exports")[0]
            .metadata.items()}
    assert {k: meta[k] for k in meta if k.startswith("pricing_intent/")} == {
        "pricing_intent/members": 1, "pricing_intent/entered": 1, "pricing_intent/left": 2,
        "pricing_intent/erased": 0, "pricing_intent/excluded_without_consent": 0,
        "pricing_intent/customer_match_rows": 1,
    }
    assert meta["high_value/members"] == 1 and meta["dormant_signups/entered"] == 1
    assert meta["high_value/erased"] == 1
    assert meta["removed_files"] == 1 and not stale.exists() and notes.exists()
    observed = {
        e.event_specific_data.asset_observation.asset_key.to_user_string():
            e.event_specific_data.asset_observation.metadata["members"].value
        for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_OBSERVATION
    }
    assert observed == {"marts/audience__pricing_intent": 1, "marts/audience__high_value": 1,
                        "marts/audience__dormant_signups": 2}


def test_cdp_audiences_lists_sizes_and_destinations(builds):
    result = CliRunner().invoke(main, ["audiences", "--warehouse", str(builds["warehouse"])])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "audience", "members", "entered", "left", "erased", "no", "consent"]
    assert lines[1].split() == ["dormant_signups", "2", "1", "0", "0", "0"]
    # Frank was erased between the builds
    assert lines[2].split() == ["high_value", "1", "0", "0", "1", "0"]
    assert lines[3].split() == ["pricing_intent", "1", "1", "2", "0", "0"]
    assert "destinations google_ads, meta_ads" in result.output
