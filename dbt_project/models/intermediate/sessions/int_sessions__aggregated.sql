{#- One row per session, rolled up from int_sessions__sessionized, with the wide attributes of
    its events joined back here, once: landing and exit page or screen, the attribution event's
    referrer, campaign, platform, app, device, os and network (for those few events only: the
    totals read narrow columns). Incremental on the same keys
    (delete+insert on session_key): every key int_sessions__sessionized wrote since this
    table's newest sessionized_at (a run of it processes new days, reloaded days and owner
    changes alike). The post-hook removes sessions that no longer exist (all their events
    gone). Attribution by channel is added in marts.sessions, so seed changes apply on every
    build. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='session_key',
        post_hook="{{ cdp.delete_rows_not_in('session_id', ref('int_sessions__sessionized')) }}",
    )
}}

with

session_events as (

    select
        session_id,
        session_key,
        message_id,
        event_type,
        customer_id,
        tracker_session_id,
        anchor_message_id,
        is_landing,
        is_exit,
        is_attribution_event,
        is_split_by_cap,
        event_at,
        received_date,
        sessionized_at
    from {{ ref('int_sessions__sessionized') }}
    {% if is_incremental() %}
    where session_key in (
        select session_key from {{ ref('int_sessions__sessionized') }}
        where {{ cdp.sessionized_since_last_run() }}
    )
    {% endif %}

),

-- the narrow attributes every event of a session counts or picks from
event_flags as (

    select
        message_id,
        anonymous_id,
        user_id,
        is_conversion,
        is_clamped
    from {{ ref('int_sessions__events_unioned') }}

),

events as (

    select
        session_events.*,
        event_flags.anonymous_id,
        event_flags.user_id,
        event_flags.is_conversion,
        event_flags.is_clamped
    from session_events
    inner join event_flags
        on session_events.message_id = event_flags.message_id

),

session_totals as (

    select
        session_id,
        session_key,
        max(customer_id) as customer_id,
        max(anonymous_id) as anonymous_id,
        {{ cdp.latest_non_null('user_id', 'event_at', 'message_id') }} as user_id,
        max(tracker_session_id) as tracker_session_id,
        max(anchor_message_id) as anchor_message_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        count(case when event_type in ('page', 'screen') then message_id end) as views,
        count(case when event_type = 'page' then message_id end) as page_views,
        count(case when event_type = 'screen' then message_id end) as screen_views,
        count(case when event_type = 'track' then message_id end) as track_events,
        count(case when is_conversion then message_id end) as conversions,
        count(case when is_clamped then message_id end) as clamped_events,
        max(case when is_split_by_cap then 1 else 0 end) = 1 as is_split_by_cap,
        min(received_date) as first_received_date,
        max(received_date) as last_received_date,
        max(sessionized_at) as sessionized_at
    from events
    group by session_id, session_key

),

-- the wide attributes of the few events that carry them (landing, exit, attribution): joined
-- for those events only, so the wide columns never meet the session's other events
marked_events as (

    select
        session_events.session_id,
        session_events.is_landing,
        session_events.is_exit,
        session_events.is_attribution_event,
        event_attributes.page_url,
        event_attributes.page_path,
        event_attributes.page_title,
        event_attributes.referrer,
        event_attributes.campaign_source,
        event_attributes.campaign_medium,
        event_attributes.campaign_name,
        event_attributes.screen_name,
        event_attributes.platform,
        event_attributes.is_app_event,
        event_attributes.app_name,
        event_attributes.app_version,
        event_attributes.app_build,
        event_attributes.device_type,
        event_attributes.device_model,
        event_attributes.device_manufacturer,
        event_attributes.os_name,
        event_attributes.os_version,
        event_attributes.network_carrier,
        event_attributes.network_wifi,
        event_attributes.network_cellular
    from session_events
    inner join {{ ref('int_sessions__events_unioned') }} as event_attributes
        on session_events.message_id = event_attributes.message_id
    where session_events.is_landing
        or session_events.is_exit
        or session_events.is_attribution_event

),

-- a session has one owner and at most one landing, one exit and one attribution event
session_marks as (

    select
        session_id as marked_session_id,
        -- landing and exit view: a page or a screen
        max(case when is_landing then page_path end) as landing_page_path,
        max(case when is_landing then page_url end) as landing_page_url,
        max(case when is_landing then page_title end) as landing_page_title,
        max(case when is_exit then page_path end) as exit_page_path,
        max(case when is_landing then screen_name end) as landing_screen_name,
        max(case when is_exit then screen_name end) as exit_screen_name,
        -- the attribution event (first view, else first event): traffic source and platform
        max(case when is_attribution_event then referrer end) as referrer,
        max(case when is_attribution_event then page_url end) as attribution_page_url,
        max(case when is_attribution_event then campaign_source end) as campaign_source,
        max(case when is_attribution_event then campaign_medium end) as campaign_medium,
        max(case when is_attribution_event then campaign_name end) as campaign_name,
        max(case when is_attribution_event then platform end) as platform,
        max(case when is_attribution_event and is_app_event then 1 else 0 end) = 1
            as is_app_session,
        max(case when is_attribution_event then app_name end) as app_name,
        max(case when is_attribution_event then app_version end) as app_version,
        max(case when is_attribution_event then app_build end) as app_build,
        max(case when is_attribution_event then device_type end) as device_type,
        max(case when is_attribution_event then device_model end) as device_model,
        max(case when is_attribution_event then device_manufacturer end) as device_manufacturer,
        max(case when is_attribution_event then os_name end) as os_name,
        max(case when is_attribution_event then os_version end) as os_version,
        max(case when is_attribution_event then network_carrier end) as network_carrier,
        max(case when is_attribution_event then cast(network_wifi as {{ dbt.type_int() }}) end)
            = 1 as network_wifi,
        max(case when is_attribution_event then cast(network_cellular as {{ dbt.type_int() }}) end)
            = 1 as network_cellular
    from marked_events
    group by session_id

),

sessions_with_marks as (

    select
        session_totals.*,
        session_marks.*
    from session_totals
    left join session_marks
        on session_totals.session_id = session_marks.marked_session_id

),

final as (

    select
        session_id,
        session_key,
        customer_id,
        anonymous_id,
        user_id,
        tracker_session_id,
        anchor_message_id,
        -- bigint on every engine (Spark's row_number is an int): the sessions mart's contract
        cast(row_number() over (
            partition by session_key
            order by started_at, session_id
        ) as {{ dbt.type_bigint() }}) as session_index,
        started_at,
        ended_at,
        {{ cdp.seconds_between('started_at', 'ended_at') }} as duration_seconds,
        events,
        views,
        page_views,
        screen_views,
        track_events,
        conversions,
        clamped_events,
        views = 1 and track_events = 0 as is_bounce,
        conversions > 0 as has_conversion,
        is_split_by_cap,
        landing_page_path,
        landing_page_url,
        landing_page_title,
        exit_page_path,
        landing_screen_name,
        exit_screen_name,
        referrer,
        attribution_page_url,
        campaign_source,
        campaign_medium,
        campaign_name,
        platform,
        is_app_session,
        app_name,
        app_version,
        app_build,
        device_type,
        device_model,
        device_manufacturer,
        os_name,
        os_version,
        network_carrier,
        network_wifi,
        network_cellular,
        first_received_date,
        last_received_date,
        sessionized_at
    from sessions_with_marks

)

select * from final
