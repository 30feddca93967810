{#- The incremental window of int_identity__message_customers: which messages a run assigns
    again, decided once when the model compiles (and again, identically, when its pre-hook
    renders: both before anything is written).

    A message's owner depends only on its own identifiers (its received day's dump) and on the
    graph rows of those identifiers. So a run assigns again the messages of the received days
    loaded since its last run (macros/incremental.sql) and the messages carrying any identifier
    whose graph row changed since its last run. The Python identity resolution records those
    identifiers in int_identity__resolution__changes, stamped with its run's resolved_at
    (orchestration/identity/changes.py); every row this model writes carries the
    resolved_at of the resolution it read (resolved_through), so "changed since the last run"
    is changed_at > max(resolved_through), one clock. Everything is assigned again on the first
    build, --full-refresh, after a full resolution since the last run (full_resolved_at: the
    first build, new rules), when the resolver is the SQL one (a table rebuilt whole, no change
    log) or when the stored rows predate these columns. On Spark the model is a table. -#}

{#- {'full': bool, 'since': timestamp string or none, 'resolved_at': timestamp string or none} -#}
{% macro message_customers_plan() -%}
    {%- set plan = {'full': true, 'since': none, 'resolved_at': none} -%}
    {%- if not execute -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set resolution = ref('int_identity__resolution') -%}
    {#- a unit test's ref is a fixture, not a relation: no state -#}
    {%- if (var('identity_resolver') | trim | lower) != 'python'
        or resolution.schema is none or resolution.identifier is none -%}
        {{- return(plan) -}}
    {%- endif -%}
    {#- looked up in the catalog, not dbt's relation cache: the resolution may have created the
        state table earlier in this very invocation (the first build) -#}
    {%- set found = run_query(
        "select count(*) from information_schema.tables where table_schema = '"
        ~ resolution.schema ~ "' and table_name = '" ~ resolution.identifier ~ "__state'"
    ).rows[0][0] -%}
    {%- if found == 0 -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set state = api.Relation.create(database=resolution.database,
        schema=resolution.schema, identifier=resolution.identifier ~ '__state') -%}
    {%- set stamps = run_query(
        "select cast(resolved_at as " ~ dbt.type_string() ~ "), cast(full_resolved_at as "
        ~ dbt.type_string() ~ ") from " ~ state
    ) -%}
    {%- if stamps.rows | length == 0 or stamps.rows[0][0] is none -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- do plan.update({'resolved_at': stamps.rows[0][0]}) -%}
    {%- set full_resolved_at = stamps.rows[0][1] -%}
    {%- if not is_incremental() or full_resolved_at is none -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | map('lower') | list -%}
    {%- for column in ['resolved_through', 'received_date', 'loaded_at', 'assigned_at'] -%}
        {%- if column not in columns -%}
            {{- return(plan) -}}
        {%- endif -%}
    {%- endfor -%}
    {%- set since = run_query(
        "select cast(max(resolved_through) as " ~ dbt.type_string() ~ ") from " ~ this
    ).rows[0][0] -%}
    {%- if since is none -%}
        {{- return(plan) -}}
    {%- endif -%}
    {%- set after_full = run_query(
        "select cast('" ~ full_resolved_at ~ "' as timestamp) > cast('" ~ since
        ~ "' as timestamp)"
    ).rows[0][0] -%}
    {%- if not after_full -%}
        {%- do plan.update({'full': false, 'since': since}) -%}
    {%- endif -%}
    {{- return(plan) -}}
{%- endmacro %}

{#- SQL: the rows of int_identity__message_identifier_values to assign (all of them in a full
    run): the messages of the days to process and those carrying a changed identifier. -#}
{% macro message_customers_to_assign(plan) -%}
    {%- set values = ref('int_identity__message_identifier_values') -%}
    {%- if plan.full -%}
    select * from {{ values }}
    {%- else -%}
        {%- set resolution = ref('int_identity__resolution') -%}
        {%- set changes = api.Relation.create(database=resolution.database,
            schema=resolution.schema, identifier=resolution.identifier ~ '__changes') -%}
    select * from {{ values }}
    where {{ cdp.days_to_process('received_date') }}
        {%- for column in ['user_id', 'anonymous_id', 'email', 'phone'] %}
    union
    select v.* from {{ values }} as v
    inner join {{ changes }} as c
        on c.identifier_type = '{{ column }}'
        and v.{{ column }} = c.identifier_value
    where c.changed_at > cast('{{ plan.since }}' as timestamp)
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: delete the rows about to be written again, and those of the messages gone from a
    reloaded day (every row in a full run), so a message left without any identifier in the
    graph loses its row. Erasure deletes the rows of erased messages itself. -#}
{% macro delete_message_customers_to_assign() -%}
    {%- if is_incremental() -%}
        {%- set plan = cdp.message_customers_plan() -%}
        {%- if plan.full %}
    delete from {{ this }}
        {%- else %}
    delete from {{ this }}
    where {{ cdp.days_to_process('received_date') }}
        or message_id in (
            select message_id from ({{ cdp.message_customers_to_assign(plan) }}) as assigned
        )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- For int_sessions__sessionized: its newest sessionized_at (a timestamp string), the owners
    assigned after which it compares with its stored ones; none (compare every owner) when not
    incremental, when it holds no rows, or when int_identity__message_customers assigned every
    row since (a full assignment may also have removed owners: junk list changed). -#}
{% macro owners_assigned_since_last_run() -%}
    {%- if not execute or not is_incremental() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set row = run_query(
        "select cast(s.since as " ~ dbt.type_string() ~ "), "
        ~ "(select min(assigned_at) from " ~ ref('int_identity__message_customers')
        ~ ") > s.since from (select max(sessionized_at) as since from " ~ this ~ ") as s"
    ).rows[0] -%}
    {%- if row[0] is none or row[1] is none or row[1] -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(row[0]) -}}
{%- endmacro %}
