{#- One row per session, rolled up from int_sessions__sessionized. Incremental on the same keys
    (delete+insert on session_key): the keys with events in this run's received days, and the
    keys of sessions this table holds that had events in those days. The post-hook removes
    sessions that no longer exist (all their events gone). Attribution by channel and the
    customer are added in marts.sessions, so seed and identity changes apply on every build. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='session_key',
        post_hook="{{ cdp.delete_rows_not_in('session_id', ref('int_sessions__sessionized')) }}",
    )
}}

{#- Read twice (the session totals, the last user ids) rather than from one CTE: DuckDB would
    materialize a CTE read twice, with every column of every event. -#}
{%- set events_to_process %}
    select * from {{ ref('int_sessions__sessionized') }}
    {% if is_incremental() %}
    where session_key in (
        {{ cdp.session_keys_to_reprocess(ref('int_sessions__sessionized')) }}
        union
        select session_key from {{ this }}
        where {{ cdp.overlaps_days_to_process('first_received_date', 'last_received_date') }}
    )
    {% endif %}
{%- endset %}

with

events as (

    {{ events_to_process }}

),

-- a session has at most one landing, one exit and one attribution event: their columns are
-- taken in the same pass as the totals
session_totals as (

    select
        session_id,
        session_key,
        max(anonymous_id) as anonymous_id,
        max(tracker_session_id) as tracker_session_id,
        max(anchor_message_id) as anchor_message_id,
        min(event_at) as started_at,
        max(event_at) as ended_at,
        count(*) as events,
        count(case when event_type = 'page' then message_id end) as page_views,
        count(case when event_type = 'track' then message_id end) as track_events,
        count(case when is_conversion then message_id end) as conversions,
        count(case when is_clamped then message_id end) as clamped_events,
        max(case when is_split_by_cap then 1 else 0 end) = 1 as is_split_by_cap,
        min(received_date) as first_received_date,
        max(received_date) as last_received_date,
        max(loaded_at) as loaded_at,
        max(case when is_landing then page_path end) as landing_page_path,
        max(case when is_landing then page_url end) as landing_page_url,
        max(case when is_landing then page_title end) as landing_page_title,
        max(case when is_exit then page_path end) as exit_page_path,
        max(case when is_attribution_event then referrer end) as referrer,
        max(case when is_attribution_event then page_url end) as attribution_page_url,
        max(case when is_attribution_event then campaign_source end) as campaign_source,
        max(case when is_attribution_event then campaign_medium end) as campaign_medium,
        max(case when is_attribution_event then campaign_name end) as campaign_name
    from events
    group by session_id, session_key

),

user_ids_ranked as (

    select
        session_id,
        user_id,
        row_number() over (partition by session_id order by event_in_session desc) as recency
    from (
        {{ events_to_process }}
    ) as events_again
    where user_id is not null

),

last_user_ids as (

    select
        session_id,
        user_id
    from user_ids_ranked
    where recency = 1

),

joined as (

    select
        session_totals.session_id,
        session_totals.session_key,
        session_totals.anonymous_id,
        last_user_ids.user_id,
        session_totals.tracker_session_id,
        session_totals.anchor_message_id,
        -- bigint on every engine (Spark's row_number is an int): the sessions mart's contract
        cast(row_number() over (
            partition by session_totals.session_key
            order by session_totals.started_at, session_totals.session_id
        ) as {{ dbt.type_bigint() }}) as session_index,
        session_totals.started_at,
        session_totals.ended_at,
        {{ cdp.seconds_between('session_totals.started_at', 'session_totals.ended_at') }}
            as duration_seconds,
        session_totals.events,
        session_totals.page_views,
        session_totals.track_events,
        session_totals.conversions,
        session_totals.clamped_events,
        session_totals.page_views = 1 and session_totals.track_events = 0 as is_bounce,
        session_totals.conversions > 0 as has_conversion,
        session_totals.is_split_by_cap,
        session_totals.landing_page_path,
        session_totals.landing_page_url,
        session_totals.landing_page_title,
        session_totals.exit_page_path,
        session_totals.referrer,
        session_totals.attribution_page_url,
        session_totals.campaign_source,
        session_totals.campaign_medium,
        session_totals.campaign_name,
        session_totals.first_received_date,
        session_totals.last_received_date,
        session_totals.loaded_at
    from session_totals
    left join last_user_ids
        on session_totals.session_id = last_user_ids.session_id

)

select * from joined
