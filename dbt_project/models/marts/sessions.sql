{#- One row per session: the incremental session rollup (whose customer is the owner of its
    events in this build's identity graph, int_identity__message_customers), attributed to a
    source / medium / campaign and a channel, with its platform and app context. -#}
with

sessions as (

    select * from {{ ref('int_sessions__aggregated') }}

),

referrer_mapping as (

    select distinct
        lower(trim(host)) as host,
        lower(trim(source)) as source,
        lower(trim(medium)) as medium
    from {{ ref('referrer_mapping') }}
    where host is not null

),

channel_rules as (

    select
        lower(trim(medium)) as medium,
        channel
    from {{ ref('channel_rules') }}

),

-- step 1 and 2 of attribution: campaign as the tracker parsed it, else utm parameters of the
-- attribution event's page URL
campaigns as (

    select
        session_id,
        referrer,
        attribution_page_url,
        case
            when coalesce(campaign_source, campaign_medium, campaign_name) is not null
                then 'campaign'
            when coalesce(
                {{ cdp.url_param('attribution_page_url', 'utm_source') }},
                {{ cdp.url_param('attribution_page_url', 'utm_medium') }},
                {{ cdp.url_param('attribution_page_url', 'utm_campaign') }}
            ) is not null
                then 'landing_url'
        end as campaign_origin,
        case
            when coalesce(campaign_source, campaign_medium, campaign_name) is not null
                then campaign_source
            else {{ cdp.url_param('attribution_page_url', 'utm_source') }}
        end as campaign_source,
        case
            when coalesce(campaign_source, campaign_medium, campaign_name) is not null
                then campaign_medium
            else {{ cdp.url_param('attribution_page_url', 'utm_medium') }}
        end as campaign_medium,
        case
            when coalesce(campaign_source, campaign_medium, campaign_name) is not null
                then campaign_name
            else {{ cdp.url_param('attribution_page_url', 'utm_campaign') }}
        end as campaign_name
    from sessions

),

-- step 3: the referrer, classified once per distinct (referrer, page URL) with the
-- referrer_mapping seed: search, social, email; an unknown external host is a referral;
-- no referrer or a referrer on the same site is direct
referrers as (

    select distinct
        referrer,
        attribution_page_url,
        {{ cdp.url_host('referrer') }} as referrer_host,
        {{ cdp.url_host_and_path('referrer') }} as referrer_host_and_path,
        {{ cdp.url_host('attribution_page_url') }} as page_host
    from sessions
    where referrer is not null

),

referrer_matches as (

    select
        referrers.referrer,
        referrers.attribution_page_url,
        referrer_mapping.source,
        referrer_mapping.medium,
        row_number() over (
            partition by referrers.referrer, referrers.attribution_page_url
            order by {{ dbt.length('referrer_mapping.host') }} desc, referrer_mapping.host,
                referrer_mapping.medium, referrer_mapping.source
        ) as match_rank
    from referrers
    inner join referrer_mapping
        on referrers.referrer_host = referrer_mapping.host
        -- entries with a path prefix, e.g. google.com/imgres
        or referrers.referrer_host_and_path = referrer_mapping.host
        or substr(referrers.referrer_host_and_path, 1, {{ dbt.length('referrer_mapping.host') }} + 1)
            = {{ dbt.concat(['referrer_mapping.host', "'/'"]) }}
        -- subdomains of a mapped host, e.g. m.youtube.com
        or {{ dbt.right('referrers.referrer_host', dbt.length('referrer_mapping.host') ~ ' + 1') }}
            = {{ dbt.concat(["'.'", 'referrer_mapping.host']) }}

),

referrer_classes as (

    select
        referrers.referrer,
        referrers.attribution_page_url,
        referrers.referrer_host,
        case
            when referrers.referrer_host is null then 'direct'
            when referrers.referrer_host = referrers.page_host
                or {{ dbt.right('referrers.referrer_host', dbt.length('referrers.page_host') ~ ' + 1') }}
                    = {{ dbt.concat(["'.'", 'referrers.page_host']) }}
                or {{ dbt.right('referrers.page_host', dbt.length('referrers.referrer_host') ~ ' + 1') }}
                    = {{ dbt.concat(["'.'", 'referrers.referrer_host']) }}
                then 'direct'
            when referrer_matches.medium in ('search', 'social', 'email') then referrer_matches.medium
            else 'referral'
        end as referrer_medium,
        referrer_matches.source as mapped_source
    from referrers
    left join referrer_matches
        on referrers.referrer = referrer_matches.referrer
        and referrers.attribution_page_url is not distinct from referrer_matches.attribution_page_url
        and referrer_matches.match_rank = 1

),

attributed as (

    select
        campaigns.session_id,
        {{ cdp.url_host('campaigns.referrer') }} as referrer_host,
        case
            when campaigns.campaign_origin is not null then campaigns.campaign_origin
            when coalesce(referrer_classes.referrer_medium, 'direct') = 'direct' then 'direct'
            else 'referrer'
        end as attribution_method,
        case
            when campaigns.campaign_origin is not null
                then coalesce(campaigns.campaign_source, '(not set)')
            when coalesce(referrer_classes.referrer_medium, 'direct') = 'direct' then 'direct'
            when referrer_classes.referrer_medium = 'referral' then referrer_classes.referrer_host
            else coalesce(referrer_classes.mapped_source, referrer_classes.referrer_host)
        end as utm_source,
        case
            when campaigns.campaign_origin is not null
                then coalesce(campaigns.campaign_medium, '(not set)')
            else coalesce(referrer_classes.referrer_medium, 'direct')
        end as utm_medium,
        case
            when campaigns.campaign_origin is not null then campaigns.campaign_name
        end as utm_campaign,
        case
            when campaigns.campaign_origin is not null
                then coalesce(channel_rules.channel, 'campaign')
            else coalesce(referrer_classes.referrer_medium, 'direct')
        end as channel
    from campaigns
    left join referrer_classes
        on campaigns.referrer = referrer_classes.referrer
        and campaigns.attribution_page_url is not distinct from referrer_classes.attribution_page_url
    left join channel_rules
        on lower(trim(campaigns.campaign_medium)) = channel_rules.medium

),

final as (

    select
        -- ids
        sessions.session_id,
        sessions.customer_id,
        sessions.anonymous_id,
        sessions.user_id,
        sessions.tracker_session_id,
        sessions.session_index,

        -- timestamps
        sessions.started_at,
        sessions.ended_at,
        cast(sessions.started_at as date) as started_date,
        sessions.duration_seconds,

        -- counts
        sessions.events,
        sessions.views,
        sessions.page_views,
        sessions.screen_views,
        sessions.track_events,
        sessions.conversions,

        -- landing and exit view
        sessions.landing_page_path,
        sessions.landing_page_url,
        sessions.landing_page_title,
        sessions.exit_page_path,
        sessions.landing_screen_name,
        sessions.exit_screen_name,

        -- attribution
        sessions.referrer,
        attributed.referrer_host,
        attributed.utm_source,
        attributed.utm_medium,
        attributed.utm_campaign,
        attributed.channel,
        attributed.attribution_method,

        -- platform, app, device, os and network
        sessions.platform,
        sessions.app_name,
        sessions.app_version,
        sessions.app_build,
        sessions.device_type,
        sessions.device_model,
        sessions.device_manufacturer,
        sessions.os_name,
        sessions.os_version,
        sessions.network_carrier,
        sessions.network_wifi,
        sessions.network_cellular,

        -- booleans
        sessions.is_bounce,
        sessions.has_conversion,
        sessions.is_app_session,
        sessions.is_split_by_cap,

        -- data quality
        sessions.clamped_events,
        sessions.anchor_message_id

    from sessions
    inner join attributed
        on sessions.session_id = attributed.session_id

)

select
    session_id,
    customer_id,
    anonymous_id,
    user_id,
    tracker_session_id,
    session_index,
    started_at,
    ended_at,
    started_date,
    duration_seconds,
    events,
    views,
    page_views,
    screen_views,
    track_events,
    conversions,
    landing_page_path,
    landing_page_url,
    landing_page_title,
    exit_page_path,
    landing_screen_name,
    exit_screen_name,
    referrer,
    referrer_host,
    utm_source,
    utm_medium,
    utm_campaign,
    channel,
    attribution_method,
    platform,
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
    is_bounce,
    has_conversion,
    is_app_session,
    is_split_by_cap,
    clamped_events,
    anchor_message_id
from final
