"""Dagster assets: ingestion of the dumps and the dbt project."""

import warnings

import dagster as dg

# Every partitioned asset here runs a backfill as one run (BackfillPolicy.single_run()): the
# loader and dbt process a range of days at once. Dagster marks the parameter beta and warns
# at every import (twice per `cdp build`); the choice is deliberate, so that one is silenced.
warnings.filterwarnings(
    "ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning
)
