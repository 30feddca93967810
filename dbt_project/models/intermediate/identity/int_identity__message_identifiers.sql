{#- The accepted identifiers of each message that may link them (junk removed, and no message
    whose analytics consent is false), with alias previousIds typed as
    the identifier they name: a user id when that value is used as a user id anywhere, else an
    anonymous id (the usual case: aliasing a browser to the new user id).

    One row per (message, type, value) without a `distinct` over every row: staging holds one
    row per message and identifier type, so only a typed previousId can repeat a row, when its
    own alias message carries the same value as that type; those are dropped by comparing
    alias messages only. -#}
with

identifiers as (

    select
        message_id,
        message_type,
        event_at,
        identifier_type,
        identifier_value
    from {{ ref('stg_events__identifiers') }}
    -- a message that refuses analytics consent links nothing (it stays in raw for erasure)
    where not is_junk
        and (analytics_consent is null or analytics_consent)

),

known_user_ids as (

    select distinct identifier_value
    from identifiers
    where identifier_type = 'user_id'

),

direct_identifiers as (

    select * from identifiers
    where identifier_type <> 'previous_id'

),

typed_previous_ids as (

    select
        i.message_id,
        i.event_at,
        case
            when u.identifier_value is not null then 'user_id'
            else 'anonymous_id'
        end as identifier_type,
        i.identifier_value
    from identifiers as i
    left join known_user_ids as u
        on u.identifier_value = i.identifier_value
    where i.identifier_type = 'previous_id'

),

-- the direct identifiers of alias messages, the only ones a previousId can repeat
alias_identifiers as (

    select
        message_id,
        identifier_type,
        identifier_value
    from direct_identifiers
    where message_type = 'alias'

),

new_previous_ids as (

    select
        p.message_id,
        p.event_at,
        p.identifier_type,
        p.identifier_value
    from typed_previous_ids as p
    left join alias_identifiers as a
        on a.message_id = p.message_id
        and a.identifier_type = p.identifier_type
        and a.identifier_value = p.identifier_value
    where a.message_id is null

),

final as (

    select
        message_id,
        event_at,
        identifier_type,
        identifier_value
    from direct_identifiers
    union all
    select
        message_id,
        event_at,
        identifier_type,
        identifier_value
    from new_previous_ids

)

select * from final
