{#- Whose event is this: the one rule every mart attributes messages by. A message belongs to
    the customer of its own user id when it has one, else of its anonymous id (else of its
    email, else of another identifier), as resolved by this build's identity graph.

    Every message with an identifier in the graph has an owner, including messages whose
    analytics consent is false: they link no identifiers and count in no analytics mart (each
    mart leaves them out), but their consent statements still belong to someone
    (int_audiences__latest_consent). Read from staging, not from the linking identifiers of
    int_identity__message_identifiers, for that reason. A message carries at most one value of
    each type (staging's grain), so the preference alone decides. -#}
with

identifiers as (

    select
        message_id,
        identifier_type,
        identifier_value
    from {{ ref('stg_events__identifiers') }}
    where not is_junk
        and identifier_type in ('user_id', 'anonymous_id', 'email', 'phone')

),

graph as (

    select identifier_type, identifier_value, customer_id
    from {{ ref('identity_graph') }}

),

candidates as (

    select
        identifiers.message_id,
        graph.customer_id,
        identifiers.identifier_type,
        case identifiers.identifier_type
            when 'user_id' then 1
            when 'anonymous_id' then 2
            when 'email' then 3
            else 4
        end as preference
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
    identifier_type as resolved_by
from ranked
where choice = 1
