{#- Every pair of identifiers seen together on one message, undirected (a < b), with when the
    pair was first and last seen and the message that first showed it.

    A view: nothing in the build reads it (the convergence test and `cdp explain` read the
    message identifiers directly), and as a table it was a self-join of every message's
    identifiers on every build (72 s of a 10 M-event build, README "Benchmarks"). Querying it
    computes the pairs then; filter it for one identifier's pairs. -#}
{{ config(materialized='view') }}
with

identifiers as (

    select * from {{ ref('int_identity__message_identifiers') }}

),

pairs as (

    select
        a.identifier_type as a_type,
        a.identifier_value as a_value,
        b.identifier_type as b_type,
        b.identifier_value as b_value,
        a.message_id,
        a.event_at
    from identifiers as a
    inner join identifiers as b
        on a.message_id = b.message_id
        and (a.identifier_type < b.identifier_type
            or (a.identifier_type = b.identifier_type and a.identifier_value < b.identifier_value))

),

ranked as (

    select
        *,
        row_number() over (
            partition by a_type, a_value, b_type, b_value
            order by event_at, message_id
        ) as seen_order
    from pairs

),

aggregated as (

    select
        a_type,
        a_value,
        b_type,
        b_value,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at,
        max(case when seen_order = 1 then message_id end) as first_message_id,
        count(*) as messages
    from ranked
    group by a_type, a_value, b_type, b_value

)

select * from aggregated
