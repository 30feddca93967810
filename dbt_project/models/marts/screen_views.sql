{#- One row per screen event of a mobile app (consented, with a session key): the app's
    counterpart of marts.page_views, by the same definitions (position among the session's
    views, time on screen, landing and exit), with the app and platform it was seen in. Its
    customer is the owner of the message (int_identity__message_customers), the session's. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='event_id',
        on_schema_change='append_new_columns',
        post_hook=[
            "{{ cdp.delete_rows_not_in('event_id', ref('int_sessions__sessionized'),
                \"event_type = 'screen'\", relation_column='message_id') }}",
            "{{ cdp.record_followed() }}",
        ],
    )
}}
with

screen_events as (

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
    where event_type = 'screen'
    {% if is_incremental() %}
        and {{ cdp.sessionized_since_followed() }}
    {% endif %}

),

screen_attributes as (

    select
        message_id,
        anonymous_id,
        user_id,
        screen_name,
        platform,
        app_name,
        app_version,
        os_name,
        os_version,
        is_clamped
    from {{ ref('int_sessions__events_unioned') }}
    where event_type = 'screen'

),

final as (

    select
        -- ids
        screen_events.message_id as event_id,
        screen_events.session_id,
        screen_events.customer_id,
        screen_attributes.anonymous_id,
        screen_attributes.user_id,

        -- timestamps
        screen_events.event_at as viewed_at,
        cast(screen_events.event_at as date) as viewed_date,

        -- screen and app
        screen_attributes.screen_name,
        screen_attributes.platform,
        screen_attributes.app_name,
        screen_attributes.app_version,
        screen_attributes.os_name,
        screen_attributes.os_version,

        -- position and time on screen
        screen_events.view_in_session as screen_view_in_session,
        screen_events.time_on_view_seconds as time_on_screen_seconds,

        -- booleans
        screen_events.is_landing,
        screen_events.is_exit,
        screen_attributes.is_clamped

    from screen_events
    inner join screen_attributes
        on screen_events.message_id = screen_attributes.message_id

)

select
    event_id,
    session_id,
    customer_id,
    anonymous_id,
    user_id,
    viewed_at,
    viewed_date,
    screen_name,
    platform,
    app_name,
    app_version,
    os_name,
    os_version,
    screen_view_in_session,
    time_on_screen_seconds,
    is_landing,
    is_exit,
    is_clamped
from final
