{#- Page, screen and track events, one row per message, with the session key, the event time
    used for sessions (future times clamped), the flags that say why an event is kept out of
    sessions (analytics consent refused, no identifier), and the wide attributes the marts join
    back once (page, campaign, screen, app, device, os, network, platform). Replaced a received
    day at a time. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        partition_by=cdp.received_date_partitioning(),
        pre_hook="{{ cdp.delete_days_to_process() }}",
    )
}}

with

pages as (

    select * from {{ ref('stg_events__pages') }}
    where {{ cdp.days_to_process('received_date') }}

),

screens as (

    select * from {{ ref('stg_events__screens') }}
    where {{ cdp.days_to_process('received_date') }}

),

tracks as (

    select * from {{ ref('stg_events__tracks') }}
    where {{ cdp.days_to_process('received_date') }}

),

unioned as (

    select
        message_id,
        'page' as event_type,
        anonymous_id,
        user_id,
        tracker_session_id,
        analytics_consent,
        cast(null as {{ dbt.type_string() }}) as event_name,
        page_url,
        page_path,
        page_title,
        referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_term,
        campaign_content,
        cast(null as {{ dbt.type_string() }}) as screen_name,
        cast(null as {{ dbt.type_string() }}) as app_name,
        cast(null as {{ dbt.type_string() }}) as app_version,
        cast(null as {{ dbt.type_string() }}) as app_build,
        cast(null as {{ dbt.type_string() }}) as device_type,
        cast(null as {{ dbt.type_string() }}) as device_model,
        cast(null as {{ dbt.type_string() }}) as device_manufacturer,
        cast(null as {{ dbt.type_string() }}) as os_name,
        cast(null as {{ dbt.type_string() }}) as os_version,
        cast(null as {{ dbt.type_string() }}) as network_carrier,
        cast(null as {{ dbt.type_boolean() }}) as network_wifi,
        cast(null as {{ dbt.type_boolean() }}) as network_cellular,
        event_at,
        received_at,
        received_date,
        loaded_at
    from pages

    union all

    select
        message_id,
        'screen' as event_type,
        anonymous_id,
        user_id,
        tracker_session_id,
        analytics_consent,
        cast(null as {{ dbt.type_string() }}) as event_name,
        cast(null as {{ dbt.type_string() }}) as page_url,
        cast(null as {{ dbt.type_string() }}) as page_path,
        cast(null as {{ dbt.type_string() }}) as page_title,
        cast(null as {{ dbt.type_string() }}) as referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_term,
        campaign_content,
        -- a screen without a name is still a view: (not set), as analytics tools show it
        coalesce(screen_name, '(not set)') as screen_name,
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
        event_at,
        received_at,
        received_date,
        loaded_at
    from screens

    union all

    select
        message_id,
        'track' as event_type,
        anonymous_id,
        user_id,
        tracker_session_id,
        analytics_consent,
        event_name,
        page_url,
        page_path,
        page_title,
        referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_term,
        campaign_content,
        cast(null as {{ dbt.type_string() }}) as screen_name,
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
        event_at,
        received_at,
        received_date,
        loaded_at
    from tracks

),

with_received_reference as (

    select
        *,
        -- when the message has no receivedAt, the end of its received day bounds the event time
        coalesce(
            received_at,
            cast({{ dbt.dateadd('day', 1, 'cast(received_date as timestamp)') }} as timestamp)
        ) as received_reference_at
    from unioned

),

flagged as (

    select
        -- ids
        message_id,
        event_type,
        {{ cdp.session_key('anonymous_id', 'user_id') }} as session_key,
        anonymous_id,
        user_id,
        tracker_session_id,

        -- event
        event_name,
        event_type = 'track'
            and coalesce(event_name in (
                {%- for name in var('conversion_events') %}
                '{{ name | replace("'", "''") }}'{{ "," if not loop.last }}
                {%- endfor %}
            ), false) as is_conversion,

        -- page and campaign context
        page_url,
        page_path,
        page_title,
        referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_term,
        campaign_content,

        -- screen, app, device, os and network context
        screen_name,
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
        -- where the event happened: a mobile app (a screen, or context.app sent) on iOS,
        -- Android or another system; else a website (a page, or an event with page context);
        -- else other (e.g. server-side events)
        case
            when event_type = 'screen'
                or coalesce(app_name, app_version, app_build) is not null
                then case
                    when lower(coalesce(os_name, device_type)) in ('ios', 'ipados') then 'ios'
                    when lower(coalesce(os_name, device_type)) = 'android' then 'android'
                    else 'other'
                end
            when event_type = 'page' or page_url is not null or page_path is not null
                then 'web'
            else 'other'
        end as platform,

        -- booleans
        event_type = 'screen' or coalesce(app_name, app_version, app_build) is not null
            as is_app_event,
        analytics_consent,
        coalesce(analytics_consent = false, false) as is_excluded_by_consent,
        anonymous_id is null and user_id is null as is_missing_identifier,
        event_at > {{ dbt.dateadd('minute', var('future_tolerance_minutes') | int,
            'received_reference_at') }} as is_clamped,

        -- timestamps
        event_at as original_event_at,
        case
            when event_at > {{ dbt.dateadd('minute', var('future_tolerance_minutes') | int,
                'received_reference_at') }}
                then received_reference_at
            else event_at
        end as event_at,
        received_at,
        received_date,
        loaded_at

    from with_received_reference

)

select * from flagged
