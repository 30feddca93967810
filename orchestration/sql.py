"""SQL text helpers shared by the modules that build DuckDB statements."""

from __future__ import annotations


def literal(value: object) -> str:
    """`value` as a quoted SQL string literal (single quotes doubled), e.g. a path in
    `read_csv('...')` or `attach '...'`, where DuckDB takes no bound parameter."""
    return "'" + str(value).replace("'", "''") + "'"
