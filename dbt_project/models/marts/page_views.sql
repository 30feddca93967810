{#- One row per page event (consented, with a session key): its session, position in the
    session, time on page, and the customer of the event from today's identity graph (the
    customer of its user id, else of its anonymous id), so customers follow identity changes on
    every build. -#}
with

page_events as (

    select * from {{ ref('int_sessions__sessionized') }}
    where event_type = 'page'

),

identities as (

    select identifier_type, identifier_value, customer_id
    from {{ ref('identity_graph') }}
    where identifier_type in ('anonymous_id', 'user_id')

),

final as (

    select
        -- ids
        page_events.message_id as event_id,
        page_events.session_id,
        coalesce(user_identities.customer_id, anonymous_identities.customer_id) as customer_id,
        page_events.anonymous_id,
        page_events.user_id,

        -- timestamps
        page_events.event_at as viewed_at,
        cast(page_events.event_at as date) as viewed_date,

        -- page
        page_events.page_path,
        page_events.page_url,
        page_events.page_title,
        page_events.referrer,

        -- position and time on page
        page_events.page_view_in_session,
        page_events.time_on_page_seconds,

        -- booleans
        page_events.is_landing,
        page_events.is_exit,
        page_events.is_clamped

    from page_events
    left join identities as user_identities
        on user_identities.identifier_type = 'user_id'
        and page_events.user_id = user_identities.identifier_value
    left join identities as anonymous_identities
        on anonymous_identities.identifier_type = 'anonymous_id'
        and page_events.anonymous_id = anonymous_identities.identifier_value

)

select
    event_id,
    session_id,
    customer_id,
    anonymous_id,
    user_id,
    viewed_at,
    viewed_date,
    page_path,
    page_url,
    page_title,
    referrer,
    page_view_in_session,
    time_on_page_seconds,
    is_landing,
    is_exit,
    is_clamped
from final
