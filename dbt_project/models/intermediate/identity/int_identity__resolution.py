"""Identity resolution: identifiers -> customers with merge protection, incremental and exact.

The rules and the algorithm live in `orchestration/identity/resolver.py` (plain Python,
unit-tested through this same entry point). This model runs it through
`orchestration.identity.warehouse.resolve_in_duckdb`: DuckDB numbers the identifiers and
messages of `int_identity__message_identifiers` in the order the rules need, the resolver
(`resolve_codes`) sees only integer arrays, and DuckDB joins the strings back. Both outputs go in
one table, told apart by `record_type`:

* `node`     one row per identifier with its customer (-> marts.identity_graph)
* `conflict` one row per link set aside by merge protection (-> marts.identity_conflicts)

Incremental (`orchestration/identity/incremental.py`): a run resolves again, whole, only the
raw components (identifiers linked by any message) that the input rows written since its last
run, the received days reloaded since and erasures touch, and replaces their rows; the result
equals a full resolution row for row. The first build, `--full-refresh` and any change of the
rules (the user-id limit, the junk list, the consent category, the resolver's code: a
fingerprint kept in the state) resolve everything.
"""


def model(dbt, session):
    dbt.config(materialized="incremental", incremental_strategy="append")
    from orchestration.identity.incremental import resolve_model
    from orchestration.identity.state import StateTables, rules_fingerprint

    max_user_ids = int(dbt.config.get("max_user_ids_per_customer"))
    junk = [row[0] for row in dbt.ref("junk_identifiers").fetchall()]
    session.register("cdp_identity_input", dbt.ref("int_identity__message_identifiers"))
    session.register("cdp_identity_load_log", dbt.source("raw", "load_log"))
    return resolve_model(
        session,
        "cdp_identity_input",
        "cdp_identity_load_log",
        StateTables.beside(dbt.this.schema, dbt.this.identifier),
        incremental=bool(dbt.is_incremental),
        max_user_ids_per_customer=max_user_ids,
        fingerprint=rules_fingerprint(
            max_user_ids, junk, str(dbt.config.get("analytics_consent_category"))
        ),
    )
