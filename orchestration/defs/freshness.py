"""Freshness: raw/events, every mart and the published marts must be updated every night.

Dagster 1.13's freshness policies (the successor of the superseded freshness checks, which
needed a sensor) are attached to the asset specs. The nightly schedule starts at 02:00 UTC; from
05:00 UTC each of these assets must have a materialization from 01:00 UTC that day or later,
otherwise the UI shows it as stale (FAIL) until it materializes again. In open-source Dagster
the policies are evaluated when the instance enables them (`freshness: enabled: true`, as in
deploy/dagster.yaml).
"""

import datetime as dt
from collections.abc import Sequence

import dagster as dg

from orchestration.defs.ingest import RAW_EVENTS
from orchestration.defs.publish import MART_KEYS, PUBLISHED_MARTS

NIGHTLY_FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron="0 5 * * *",
    lower_bound_delta=dt.timedelta(hours=4),
    timezone="UTC",
)

FRESHNESS_ASSETS = [RAW_EVENTS, *MART_KEYS, PUBLISHED_MARTS]


def with_freshness_policies(assets: Sequence[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    """`assets` with the nightly freshness policy on raw/events, the marts and published/marts."""
    keys = set(FRESHNESS_ASSETS)

    def attach(spec: dg.AssetSpec) -> dg.AssetSpec:
        return dg.apply_freshness_policy(spec, NIGHTLY_FRESHNESS) if spec.key in keys else spec

    return list(dg.map_asset_specs(attach, assets))
