{#- Whose event is this: the one rule every mart attributes messages by. A message belongs to
    the customer of its own user id when it has one, else of its anonymous id (else of its
    email, else of its phone), as resolved by this build's identity graph (the node rows of
    int_identity__resolution, which marts.identity_graph publishes).

    Every message with an identifier in the graph has an owner, including messages whose
    analytics consent is false: they link no identifiers and count in no analytics mart (each
    mart leaves them out), but their consent statements still belong to someone
    (int_audiences__latest_consent). Read from int_identity__message_identifier_values (each
    message's non-junk identifiers, consent aside), not from the linking identifiers of
    int_identity__message_identifiers, for that reason. A message carries at most one value of
    each type (staging's grain), so the preference alone decides.

    Incremental and exact (macros/message_customers.sql): a run assigns again only the
    messages of the received days loaded since its last run and those carrying any identifier
    (not only the one that decided) whose graph row changed since (new, another customer, or
    gone: int_identity__resolution__changes); the pre-hook deletes their rows and those of
    messages gone from a reloaded day first, so a message none of whose identifiers is in the
    graph any more loses its row. Every row written carries the run's start (assigned_at):
    int_sessions__sessionized compares owners only for the rows assigned since its own last
    run. The first build, --full-refresh, a full resolution since the last run and the SQL
    resolver assign everything again. On Spark the model is a table, rebuilt whole. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='append',
        pre_hook="{{ cdp.delete_message_customers_to_assign() }}",
    )
}}

{%- set plan = cdp.message_customers_plan() %}

with

messages as (

    {{ cdp.message_customers_to_assign(plan) }}

),

identifiers as (

    -- union all: the later branches take their column names from the first
    -- noqa: disable=AL03
    select message_id, received_date, loaded_at,
        'user_id' as identifier_type, user_id as identifier_value, 1 as preference
    from messages
    where user_id is not null
    union all
    select message_id, received_date, loaded_at, 'anonymous_id', anonymous_id, 2
    from messages
    where anonymous_id is not null
    union all
    select message_id, received_date, loaded_at, 'email', email, 3
    from messages
    where email is not null
    union all
    select message_id, received_date, loaded_at, 'phone', phone, 4
    from messages
    where phone is not null
    -- noqa: enable=AL03

),

graph as (

    select identifier_type, identifier_value, customer_id
    from {{ ref('int_identity__resolution') }}
    where record_type = 'node'

),

candidates as (

    select
        identifiers.message_id,
        identifiers.received_date,
        identifiers.loaded_at,
        graph.customer_id,
        identifiers.identifier_type,
        identifiers.preference
    from identifiers
    inner join graph
        on identifiers.identifier_type = graph.identifier_type
        and identifiers.identifier_value = graph.identifier_value

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_id
            order by preference
        ) as choice
    from candidates

)

select
    message_id,
    customer_id,
    identifier_type as resolved_by,
    received_date,
    loaded_at,
    {{ cdp.build_started_at() }} as assigned_at,
    {%- if plan.resolved_at is none %}
    cast(null as {{ dbt.type_timestamp() }}) as resolved_through
    {%- else %}
    cast('{{ plan.resolved_at }}' as {{ dbt.type_timestamp() }}) as resolved_through
    {%- endif %}
from ranked
where choice = 1
