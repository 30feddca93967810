{#- Every kept page and track event with its session. A run re-sessionizes the whole history of
    each session key touched by the received days it processes (delete+insert on session_key),
    so building day by day gives exactly what a full rebuild gives.

    Session rules, in order:
      1. events of one session key (anonymous id, else user id), ordered by event time;
      2. a tracker session id (context.sessionId) is honoured instead of the timeout: events
         carrying the same id form one session whatever the gaps between them; an event without
         one joins the tracker session it directly follows (no gap over the timeout since the
         tracker's event), e.g. a server-side track event in the middle of a browser session;
      3. other events split after more than var session_timeout_minutes of inactivity;
      4. a session longer than var max_session_hours is split into windows of that length
         counted from its start (an event exactly at start + max_session_hours stays);
      5. session_id = hash(session_key | first-received message of the session), ordered by
         received day, event time, message id: later data never changes it unless it merges two
         sessions (then the earlier-received one's id survives).

    Keys reprocessed: those with events in the run's received days, and those this table holds
    events of from those days (a reloaded day may have lost messages). The post-hook removes
    rows whose message is no longer usable (gone from a reloaded day, or erased from
    int_sessions__events_unioned), e.g. a key none of whose events is left. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='session_key',
        post_hook="{{ cdp.delete_rows_not_in('message_id', ref('int_sessions__events_unioned'),
            'session_key is not null and not is_excluded_by_consent') }}",
    )
}}

{%- set timeout_minutes = var('session_timeout_minutes') | int %}
{%- set cap_microseconds = (var('max_session_hours') | int) * 3600 * 1000000 %}

with

events as (

    select * from {{ ref('int_sessions__events_unioned') }}
    where session_key is not null
        and not is_excluded_by_consent
    {% if is_incremental() %}
        and session_key in (
            {{ cdp.session_keys_to_reprocess(ref('int_sessions__events_unioned')) }}
            union
            select session_key from {{ this }}
            where {{ cdp.days_to_process('received_date') }}
        )
    {% endif %}

),

with_previous as (

    select
        *,
        lag(event_at) over (
            partition by session_key order by event_at, message_id
        ) as previous_event_at,
        -- tracker runs: a run starts at each event that carries a tracker session id
        count(tracker_session_id) over (
            partition by session_key order by event_at, message_id
            rows between unbounded preceding and current row
        ) as tracker_run
    from events

),

with_gaps as (

    select
        *,
        previous_event_at is null
            or event_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_event_at') }}
            as is_after_timeout
    from with_previous

),

with_run_tracker as (

    select
        *,
        first_value(tracker_session_id) over (
            partition by session_key, tracker_run order by event_at, message_id
            rows between unbounded preceding and unbounded following
        ) as run_tracker_session_id,
        -- timeouts crossed since the run's tracker event (that event itself not counted)
        sum(case when tracker_session_id is null and is_after_timeout then 1 else 0 end) over (
            partition by session_key, tracker_run order by event_at, message_id
            rows between unbounded preceding and current row
        ) as timeouts_in_run
    from with_gaps

),

with_effective_tracker as (

    select
        *,
        coalesce(
            tracker_session_id,
            case when timeouts_in_run = 0 then run_tracker_session_id end
        ) as effective_tracker_session_id
    from with_run_tracker

),

with_untracked_previous as (

    select
        *,
        lag(event_at) over (
            partition by session_key, effective_tracker_session_id is null
            order by event_at, message_id
        ) as previous_untracked_event_at
    from with_effective_tracker

),

with_timeout_sessions as (

    select
        *,
        sum(
            case
                when previous_untracked_event_at is null
                    or event_at > {{ dbt.dateadd('minute', timeout_minutes,
                        'previous_untracked_event_at') }}
                then 1 else 0
            end
        ) over (
            partition by session_key, effective_tracker_session_id is null
            order by event_at, message_id
            rows between unbounded preceding and current row
        ) as timeout_session_number
    from with_untracked_previous

),

with_base_session as (

    select
        *,
        case
            when effective_tracker_session_id is not null
                then {{ dbt.concat(["'tracker:'", 'effective_tracker_session_id']) }}
            else {{ dbt.concat(["'timeout:'",
                'cast(timeout_session_number as ' ~ dbt.type_string() ~ ')']) }}
        end as base_session
    from with_timeout_sessions

),

with_base_start as (

    select
        *,
        min(event_at) over (partition by session_key, base_session) as base_started_at
    from with_base_session

),

with_cap_window as (

    select
        *,
        case
            when {{ dbt.datediff('base_started_at', 'event_at', 'microsecond') }} <= 0 then 0
            else cast(floor(
                ({{ dbt.datediff('base_started_at', 'event_at', 'microsecond') }} - 1)
                / {{ cap_microseconds }}
            ) as {{ dbt.type_bigint() }})
        end as cap_window
    from with_base_start

),

with_session_anchor as (

    select
        *,
        first_value(message_id) over (
            partition by session_key, base_session, cap_window
            order by received_date, event_at, message_id
            rows between unbounded preceding and unbounded following
        ) as anchor_message_id,
        max(cap_window) over (partition by session_key, base_session) > 0 as is_split_by_cap
    from with_cap_window

),

with_session_id as (

    select
        *,
        {{ dbt.hash(dbt.concat(['session_key', "'|'", 'anchor_message_id'])) }} as session_id
    from with_session_anchor

),

with_positions as (

    select
        *,
        row_number() over (
            partition by session_id order by event_at, message_id
        ) as event_in_session,
        case when event_type = 'page' then row_number() over (
            partition by session_id, event_type order by event_at, message_id
        ) end as page_view_in_session,
        count(case when event_type = 'page' then message_id end) over (
            partition by session_id
        ) as session_page_views,
        case when event_type = 'page' then lead(event_at) over (
            partition by session_id, event_type order by event_at, message_id
        ) end as next_page_view_at
    from with_session_id

),

final as (

    select
        -- ids
        session_id,
        session_key,
        message_id,
        event_type,
        anonymous_id,
        user_id,
        effective_tracker_session_id as tracker_session_id,
        anchor_message_id,

        -- positions
        event_in_session,
        page_view_in_session,
        coalesce(page_view_in_session = 1, false) as is_landing,
        coalesce(page_view_in_session = session_page_views, false) as is_exit,
        -- the event whose context attributes the session: its first page view, else its first event
        coalesce(page_view_in_session = 1, false)
            or (session_page_views = 0 and event_in_session = 1) as is_attribution_event,

        -- event
        event_name,
        is_conversion,
        page_url,
        page_path,
        page_title,
        referrer,
        campaign_source,
        campaign_medium,
        campaign_name,
        campaign_term,
        campaign_content,

        -- flags
        is_clamped,
        is_split_by_cap,

        -- timestamps and durations
        event_at,
        original_event_at,
        received_at,
        received_date,
        loaded_at,
        case
            when next_page_view_at is not null
                then {{ cdp.seconds_between('event_at', 'next_page_view_at') }}
        end as time_on_page_seconds

    from with_positions

)

select * from final
