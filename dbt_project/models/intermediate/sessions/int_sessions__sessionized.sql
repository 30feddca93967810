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

{#- Read twice (the narrow columns for the windows, the others once at the end): a CTE read
    twice would be materialized with all its columns. -#}
{%- set kept_events_condition %}
    session_key is not null
        and not is_excluded_by_consent
    {% if is_incremental() %}
        and session_key in (
            {{ cdp.session_keys_to_reprocess(ref('int_sessions__events_unioned')) }}
            union
            select session_key from {{ this }}
            where {{ cdp.days_to_process('received_date') }}
        )
    {% endif %}
{%- endset %}

with

-- the window work runs on this narrow projection, the other columns join back once (final)
event_order as (

    select
        session_key,
        message_id,
        event_at,
        received_date,
        event_type,
        tracker_session_id
    from {{ ref('int_sessions__events_unioned') }}
    where {{ kept_events_condition }}

),

-- the windows that find the tracker and timeout sessions all order a key's events the same way
-- (event time, message id, which is unique); "so far" counts up to and including the event
with_previous as (

    select
        *,
        lag(event_at) over key_order as previous_event_at,
        -- tracker runs: a run starts at each event that carries a tracker session id
        count(tracker_session_id) over key_order_so_far as tracker_run
    from event_order
    window
        key_order as (partition by session_key order by event_at, message_id),
        key_order_so_far as (
            partition by session_key order by event_at, message_id
            rows between unbounded preceding and current row
        )

),

with_gaps as (

    select
        *,
        tracker_session_id is null
            and (
                previous_event_at is null
                or event_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_event_at') }}
            ) as is_untracked_timeout
    from with_previous

),

-- the tracker session id of each run (its first event, the only one of the run that has one)
run_trackers as (

    select
        session_key,
        tracker_run,
        tracker_session_id as run_tracker_session_id
    from with_previous
    where tracker_session_id is not null

),

with_last_timeout as (

    select
        *,
        -- the latest timeout crossed by an event without tracker session id: its run, its time
        max(case when is_untracked_timeout then tracker_run end) over key_order_so_far
            as last_timeout_run,
        max(case when is_untracked_timeout then event_at end) over key_order_so_far
            as last_timeout_at
    from with_gaps
    window key_order_so_far as (
        partition by session_key order by event_at, message_id
        rows between unbounded preceding and current row
    )

),

-- an event without tracker session id inherits its run's one while no timeout was crossed
-- since the run's tracker event (runs only grow along the order, so "the latest timeout is in
-- an earlier run" is "no timeout in this run so far")
with_effective_tracker as (

    select
        with_last_timeout.*,
        coalesce(
            with_last_timeout.tracker_session_id,
            case
                when coalesce(with_last_timeout.last_timeout_run, -1)
                    < with_last_timeout.tracker_run
                    then run_trackers.run_tracker_session_id
            end
        ) as effective_tracker_session_id
    from with_last_timeout
    left join run_trackers
        on with_last_timeout.session_key = run_trackers.session_key
        and with_last_timeout.tracker_run = run_trackers.tracker_run

),

-- the events left without tracker session id are the key's first run and, in each later run,
-- the events from its first timeout on: so the previous such event is the previous event, or
-- (first one of such a stretch) an earlier one across a timeout anyway. Their timeout sessions
-- thus start at the timeouts crossed by events without tracker session id, and an event's
-- session is the latest such timeout (times of two such timeouts of a key always differ).
with_base_session as (

    select
        *,
        case
            when effective_tracker_session_id is not null
                then {{ dbt.concat(["'tracker:'", 'effective_tracker_session_id']) }}
            else {{ dbt.concat(["'timeout:'",
                'cast(last_timeout_at as ' ~ dbt.type_string() ~ ')']) }}
        end as base_session
    from with_effective_tracker

),

base_sessions as (

    select
        session_key,
        base_session,
        min(event_at) as base_started_at,
        max(event_at) as base_ended_at
    from with_base_session
    group by session_key, base_session

),

with_cap_window as (

    select
        with_base_session.session_key,
        with_base_session.message_id,
        with_base_session.event_at,
        with_base_session.received_date,
        with_base_session.event_type,
        with_base_session.effective_tracker_session_id,
        with_base_session.base_session,
        case
            when {{ dbt.datediff('base_sessions.base_started_at', 'with_base_session.event_at',
                'microsecond') }} <= 0 then 0
            else cast(floor(
                ({{ dbt.datediff('base_sessions.base_started_at', 'with_base_session.event_at',
                    'microsecond') }} - 1)
                / {{ cap_microseconds }}
            ) as {{ dbt.type_bigint() }})
        end as cap_window,
        -- some cap window > 0: the last event is over the cap after the start
        {{ dbt.datediff('base_sessions.base_started_at', 'base_sessions.base_ended_at',
            'microsecond') }} > {{ cap_microseconds }} as is_split_by_cap
    from with_base_session
    inner join base_sessions
        on with_base_session.session_key = base_sessions.session_key
        and with_base_session.base_session = base_sessions.base_session

),

with_session_anchor as (

    select
        *,
        first_value(message_id) over (
            partition by session_key, base_session, cap_window
            order by received_date, event_at, message_id
            rows between unbounded preceding and unbounded following
        ) as anchor_message_id
    from with_cap_window

),

with_session_id as (

    select
        *,
        {{ dbt.hash(dbt.concat(['session_key', "'|'", 'anchor_message_id'])) }} as session_id
    from with_session_anchor

),

-- one order for all positions: page view positions count the pages so far, the next page
-- view is the earliest page after the event
with_positions as (

    select
        *,
        row_number() over session_order as event_in_session,
        case when event_type = 'page' then count(
            case when event_type = 'page' then message_id end
        ) over session_so_far end as page_view_in_session,
        count(case when event_type = 'page' then message_id end) over session_all
            as session_page_views,
        case when event_type = 'page' then min(
            case when event_type = 'page' then event_at end
        ) over session_after end as next_page_view_at
    from with_session_id
    window
        session_order as (partition by session_id order by event_at, message_id),
        session_so_far as (
            partition by session_id order by event_at, message_id
            rows between unbounded preceding and current row
        ),
        session_all as (
            partition by session_id order by event_at, message_id
            rows between unbounded preceding and unbounded following
        ),
        session_after as (
            partition by session_id order by event_at, message_id
            rows between 1 following and unbounded following
        )

),

events as (

    select * from {{ ref('int_sessions__events_unioned') }}
    where {{ kept_events_condition }}

),

final as (

    select
        -- ids
        with_positions.session_id,
        with_positions.session_key,
        with_positions.message_id,
        with_positions.event_type,
        events.anonymous_id,
        events.user_id,
        with_positions.effective_tracker_session_id as tracker_session_id,
        with_positions.anchor_message_id,

        -- positions
        with_positions.event_in_session,
        with_positions.page_view_in_session,
        coalesce(with_positions.page_view_in_session = 1, false) as is_landing,
        coalesce(with_positions.page_view_in_session = with_positions.session_page_views, false)
            as is_exit,
        -- the event whose context attributes the session: its first page view, else its first event
        coalesce(with_positions.page_view_in_session = 1, false)
            or (with_positions.session_page_views = 0 and with_positions.event_in_session = 1)
            as is_attribution_event,

        -- event
        events.event_name,
        events.is_conversion,
        events.page_url,
        events.page_path,
        events.page_title,
        events.referrer,
        events.campaign_source,
        events.campaign_medium,
        events.campaign_name,
        events.campaign_term,
        events.campaign_content,

        -- flags
        events.is_clamped,
        with_positions.is_split_by_cap,

        -- timestamps and durations
        with_positions.event_at,
        events.original_event_at,
        events.received_at,
        with_positions.received_date,
        events.loaded_at,
        case
            when with_positions.next_page_view_at is not null
                then {{ cdp.seconds_between('with_positions.event_at',
                    'with_positions.next_page_view_at') }}
        end as time_on_page_seconds

    from with_positions
    inner join events
        on with_positions.message_id = events.message_id

)

select * from final
