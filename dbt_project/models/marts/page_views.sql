{#- One row per page event (consented, with a session key): its session, position among the
    session's views, time on page, and its customer: the owner of the message in this build's
    identity graph (int_identity__message_customers, the rule every mart uses), which is the
    session's customer. App screens are in marts.screen_views, by the same definitions. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ cdp.delete_rows_not_in('event_id', ref('int_sessions__sessionized'),
                \"event_type = 'page'\", relation_column='message_id') }}",
            "{{ cdp.record_followed() }}",
        ],
    )
}}
with

page_events as (

    select
        message_id,
        session_id,
        customer_id,
        event_at,
        view_in_session,
        time_on_view_seconds,
        is_landing,
        is_exit
    from {{ ref('int_sessions__sessionized') }}
    where event_type = 'page'
    {% if is_incremental() %}
        and {{ cdp.sessionized_since_followed() }}
    {% endif %}

),

page_attributes as (

    select
        message_id,
        anonymous_id,
        user_id,
        page_path,
        page_url,
        page_title,
        referrer,
        is_clamped
    from {{ ref('int_sessions__events_unioned') }}
    where event_type = 'page'

),

final as (

    select
        -- ids
        page_events.message_id as event_id,
        page_events.session_id,
        page_events.customer_id,
        page_attributes.anonymous_id,
        page_attributes.user_id,

        -- timestamps
        page_events.event_at as viewed_at,
        cast(page_events.event_at as date) as viewed_date,

        -- page
        page_attributes.page_path,
        page_attributes.page_url,
        page_attributes.page_title,
        page_attributes.referrer,

        -- position and time on page
        page_events.view_in_session as page_view_in_session,
        page_events.time_on_view_seconds as time_on_page_seconds,

        -- booleans
        page_events.is_landing,
        page_events.is_exit,
        page_attributes.is_clamped

    from page_events
    inner join page_attributes
        on page_events.message_id = page_attributes.message_id

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
