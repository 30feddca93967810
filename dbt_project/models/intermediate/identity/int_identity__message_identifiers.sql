{#- The accepted identifiers of each message (junk removed), with alias previousIds typed as
    the identifier they name: a user id when that value is used as a user id anywhere, else an
    anonymous id (the usual case: aliasing a browser to the new user id). -#}
with

identifiers as (

    select * from {{ ref('stg_events__identifiers') }}
    where not is_junk

),

known_user_ids as (

    select distinct identifier_value
    from identifiers
    where identifier_type = 'user_id'

),

typed as (

    select
        i.message_id,
        i.event_at,
        case
            when i.identifier_type <> 'previous_id' then i.identifier_type
            when u.identifier_value is not null then 'user_id'
            else 'anonymous_id'
        end as identifier_type,
        i.identifier_value
    from identifiers as i
    left join known_user_ids as u
        on i.identifier_type = 'previous_id'
        and u.identifier_value = i.identifier_value

),

deduplicated as (

    select distinct
        message_id,
        event_at,
        identifier_type,
        identifier_value
    from typed

)

select * from deduplicated
