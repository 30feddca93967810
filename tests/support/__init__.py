"""Helpers shared by the test suites (dumps, dbt fixtures, a built warehouse)."""
