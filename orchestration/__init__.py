"""Dagster code location, ingestion, CLI and generator of the CDP."""
