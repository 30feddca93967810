"""Identity resolution: identifiers -> customers with merge protection.

The rules and the algorithm live in `orchestration/identity/resolver.py` (plain Python,
unit-tested through this same entry point). This model runs it through
`orchestration.identity.warehouse.resolve_in_duckdb`: DuckDB numbers the identifiers and
messages of `int_identity__message_identifiers` in the order the rules need, the resolver
(`resolve_codes`) sees only integer arrays, and DuckDB joins the strings back. Both outputs go in
one table, told apart by `record_type`:

* `node`     one row per identifier with its customer (-> marts.identity_graph)
* `conflict` one row per link set aside by merge protection (-> marts.identity_conflicts)

The whole graph is re-resolved on every build, so a change of rules (the user-id limit, the
junk list) applies retroactively to all history.
"""


def model(dbt, session):
    dbt.config(materialized="table")
    from orchestration.identity.warehouse import resolve_in_duckdb

    max_user_ids = int(dbt.config.get("max_user_ids_per_customer"))
    session.register("cdp_identity_input", dbt.ref("int_identity__message_identifiers"))
    return resolve_in_duckdb(session, "cdp_identity_input", max_user_ids)
