{#- Identity resolution in portable SQL (dbt-spark, any engine): the same rows as the Python
    model int_identity__resolution.py, which stays the default on DuckDB. Exactly one of the
    two is enabled, by the var `identity_resolver` (`sql` here; the default on Spark). The
    algorithm is macros/identity_resolution.sql: its pre-hook fills the work tables this
    select reads, the post-hook drops them. -#}
{{ config(
    materialized='table',
    enabled=(cdp.identity_resolver() == 'sql'),
    pre_hook="{{ cdp.resolve_identities_sql() }}",
    post_hook="{{ cdp.drop_identity_resolution_work() }}",
) }}
-- depends_on: {{ ref('int_identity__message_identifiers') }}

with

node_customers as (

    select * from {{ cdp.identity_resolution_work('node_customers') }}

),

conflicts as (

    select * from {{ cdp.identity_resolution_work('conflicts') }}

),

messages as (

    select * from {{ cdp.identity_resolution_work('messages') }}

),

nodes as (

    select * from {{ cdp.identity_resolution_work('nodes') }}

),

node_rows as (

    select
        'node' as record_type,
        identifier_type,
        identifier_value,
        customer_id,
        anchor_type,
        anchor_value,
        first_seen_at,
        last_seen_at,
        first_message_id,
        cast(messages as {{ dbt.type_bigint() }}) as messages,
        cast(null as {{ dbt.type_string() }}) as message_id,
        cast(null as {{ dbt.type_timestamp() }}) as occurred_at,
        cast(null as {{ dbt.type_string() }}) as rule,
        cast(null as {{ dbt.type_string() }}) as conflicting_identifier_type,
        cast(null as {{ dbt.type_string() }}) as conflicting_identifier_value
    from node_customers

),

conflict_rows as (

    select
        'conflict' as record_type,
        set_aside.identifier_type,
        set_aside.identifier_value,
        cast(null as {{ dbt.type_string() }}) as customer_id,
        cast(null as {{ dbt.type_string() }}) as anchor_type,
        cast(null as {{ dbt.type_string() }}) as anchor_value,
        cast(null as {{ dbt.type_timestamp() }}) as first_seen_at,
        cast(null as {{ dbt.type_timestamp() }}) as last_seen_at,
        cast(null as {{ dbt.type_string() }}) as first_message_id,
        cast(null as {{ dbt.type_bigint() }}) as messages,
        m.message_id,
        m.message_at as occurred_at,
        'max_user_ids_per_customer' as rule,
        kept.identifier_type as conflicting_identifier_type,
        kept.identifier_value as conflicting_identifier_value
    from conflicts as c
    inner join messages as m on m.message_rank = c.set_id
    inner join nodes as set_aside on set_aside.node_id = c.set_aside_node_id
    inner join nodes as kept on kept.node_id = c.kept_node_id

)

select * from node_rows
union all
select * from conflict_rows
