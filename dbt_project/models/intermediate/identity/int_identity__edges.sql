{#- Every pair of identifiers seen together on one message, undirected (a < b), with when the
    pair was first and last seen and the message that first showed it. -#}
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
