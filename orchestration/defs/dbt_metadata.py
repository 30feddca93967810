"""What the Dagster UI shows about dbt nodes beyond dagster-dbt's defaults: a description for
every dbt test (asset check), and the column names and types of every built model.

dagster-dbt takes a check's description from the test's `meta.description` only, so generic
tests (`not_null`, `relationships`, our `rows_satisfy`, ...) show none; here each gets one
sentence from its kind and arguments, and singular tests their YAML description
(`dbt_project/tests/_singular_tests.yml`). Column types come from the warehouse after the
build (dagster-dbt's `fetch_column_metadata()` would query it while dbt still holds the file),
with the descriptions of the model's YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg

_REF = re.compile(r"""(?:ref|source)\(\s*['"]([^'"]+)['"](?:\s*,\s*['"]([^'"]+)['"])?\s*\)""")


def _relation(text: str) -> str:
    """`ref('identity_graph')` -> identity_graph; `source('raw', 'events')` -> raw.events."""
    match = _REF.search(text or "")
    if not match:
        return str(text)
    return ".".join(part for part in match.groups() if part)


def _sentence(kind: str, kwargs: Mapping[str, Any], column: str | None) -> str:
    col = f"`{column}`" if column else "the row"
    if kind == "not_null":
        return f"{col} is never null."
    if kind == "unique":
        return f"{col} is unique: no two rows share a value."
    if kind == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values") or [])
        return f"{col} is null or one of: {values}."
    if kind == "relationships":
        target = _relation(str(kwargs.get("to", "")))
        return f"Every non-null {col} is a `{kwargs.get('field')}` of {target}."
    if kind == "rows_satisfy":
        expression = " ".join(str(kwargs.get("expression", "")).split())
        return f"Every row satisfies: {expression}"
    if kind == "unique_combination":
        columns = ", ".join(kwargs.get("columns") or [])
        return f"No two rows share the combination ({columns})."
    arguments = ", ".join(f"{k}={v}" for k, v in kwargs.items() if k not in ("model",))
    return f"dbt test {kind}({arguments})."


def describe_test(test: Mapping[str, Any]) -> str:
    """One or two sentences saying what a dbt test checks and what its failure means."""
    description = " ".join(str(test.get("description") or "").split())
    if not description:
        metadata = test.get("test_metadata") or {}
        kind = str(metadata.get("name") or test.get("name", "test"))
        description = _sentence(kind, metadata.get("kwargs") or {}, test.get("column_name"))
    severity = str((test.get("config") or {}).get("severity") or "error").lower()
    outcome = ("Severity warn: rows found are reported, the build goes on."
               if severity == "warn" else "Severity error: a failure fails the dbt step.")
    return f"{description} {outcome}"


def column_schema(
    columns: Sequence[tuple[str, str]], documented: dg.TableSchema | None = None
) -> dg.TableSchema:
    """The table's columns as built (name, warehouse type), in order, with the descriptions of
    the model's YAML (`documented`, dagster-dbt's definition-time schema)."""
    described = {c.name: c for c in (documented.columns if documented else [])}
    return dg.TableSchema(columns=[
        dg.TableColumn(
            name=name,
            type=data_type,
            description=described[name].description if name in described else None,
            tags=described[name].tags if name in described else {},
        )
        for name, data_type in columns
    ])
