"""Dagster assets: ingestion of the dumps and the dbt project."""
