{#- Messages kept out of the analytics marts because their analytics consent is false
    (context.consent.categoryPreferences.<var analytics_consent_category>), per event date and
    message type. The rule is per message: a visitor's messages sent while consent was refused
    are left out, and the ones sent after consent is given count from then on. -#}
with

pages as (

    select message_id, 'page' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__pages') }}

),

tracks as (

    select message_id, 'track' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__tracks') }}

),

identifies as (

    select message_id, 'identify' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__identifies') }}

),

screens as (

    select message_id, 'screen' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__screens') }}

),

aliases as (

    select message_id, 'alias' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__aliases') }}

),

groups as (

    select message_id, 'group' as message_type, event_at, analytics_consent
    from {{ ref('stg_events__groups') }}

),

unioned as (

    select * from pages
    union all
    select * from tracks
    union all
    select * from identifies
    union all
    select * from screens
    union all
    select * from aliases
    union all
    select * from groups

),

refused as (

    select * from unioned
    where analytics_consent = false

),

final as (

    select
        cast(event_at as date) as event_date,
        message_type,
        count(*) as excluded_messages
    from refused
    group by cast(event_at as date), message_type

)

select * from final
