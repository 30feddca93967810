{#- Every usable page, screen and track event with its session: narrow (the columns the session
    rules need, plus positions), so the window work sorts a few columns per event; the page,
    screen, campaign and app attributes are joined back once, in int_sessions__aggregated and
    the view marts. A run re-sessionizes the whole history of each session key it reprocesses
    (delete+insert on session_key), so building day by day gives exactly what a full rebuild
    gives.

    Session rules, in order:
      1. events of one session key (anonymous id, else user id), ordered by event time, then
         message id;
      2. one owner per session: the event's customer (int_identity__message_customers, the rule
         every mart attributes events by). Where the owner changes between consecutive events
         (a shared device: merge protection kept its second user apart), a new session starts;
      3. a tracker session id (context.sessionId) is honoured instead of the timeout: events
         carrying the same id form one session whatever the gaps between them; an event without
         one joins the tracker session it directly follows (no gap over the timeout since the
         tracker's event), e.g. a server-side track event in the middle of a browser session;
      4. other events split after more than var session_timeout_minutes of inactivity;
      5. a session longer than var max_session_hours is split into windows of that length
         counted from its start (an event exactly at start + max_session_hours stays);
      6. session_id = hash(session_key | first-received message of the session), ordered by
         received day, event time, message id: later data never changes it unless it merges two
         sessions (then the earlier-received one's id survives).

    Keys reprocessed: those with events in the run's received days, those this table holds
    events of from those days (a reloaded day may have lost messages), and those with an event
    whose owner is not the one stored here (the identity graph changed). For the last, only the
    owners int_identity__message_customers assigned (assigned_at) since this model's newest
    sessionized_at are compared: an owner assigned before was seen by that run or an earlier
    one. A row that model deletes without rewriting it is the message's own doing (gone from a
    reloaded day: its day is reprocessed here; erased: the post-hook) or that of a message none
    of whose identifiers links (refusing analytics consent: not sessionized; its identifiers
    all junk: every identifier linked is in the graph); a changed junk list rewrites every
    owner (a full resolution), and when every owner was assigned since the last run, all of
    them are compared (cdp.owners_assigned_since_last_run). Rows written by a run
    carry its start time (sessionized_at): int_sessions__aggregated rolls up the keys written
    since its own last run. The post-hook removes rows whose message is no longer usable (gone
    from a reloaded day, or erased from int_sessions__events_unioned). -#}
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
{%- set owners_since = cdp.owners_assigned_since_last_run() %}
{%- set cap_microseconds = (var('max_session_hours') | int) * 3600 * 1000000 %}

with

usable_events as (

    select
        session_key,
        message_id,
        event_type,
        tracker_session_id,
        event_at,
        received_date,
        loaded_at
    from {{ ref('int_sessions__events_unioned') }}
    where session_key is not null
        and not is_excluded_by_consent

),

owners as (

    select message_id, customer_id
    from {{ ref('int_identity__message_customers') }}

),

{% if is_incremental() %}

keys_to_reprocess as (

    {{ cdp.session_keys_to_reprocess(ref('int_sessions__events_unioned')) }}
    union
    select session_key from {{ this }}
    where {{ cdp.days_to_process('received_date') }}
    union
    select sessionized.session_key
    from {{ this }} as sessionized
    {%- if owners_since is none %}
    left join owners
    {%- else %}
    -- only the owners assigned since this model's last run can differ from the stored ones
    inner join (
        select message_id, customer_id
        from {{ ref('int_identity__message_customers') }}
        where assigned_at > cast('{{ owners_since }}' as {{ dbt.type_timestamp() }})
    ) as owners
    {%- endif %}
        on sessionized.message_id = owners.message_id
    where sessionized.customer_id is distinct from owners.customer_id

),

{% endif %}

events as (

    select
        usable_events.session_key,
        usable_events.message_id,
        usable_events.event_type,
        usable_events.event_type in ('page', 'screen') as is_view,
        owners.customer_id,
        usable_events.tracker_session_id,
        usable_events.event_at,
        usable_events.received_date,
        usable_events.loaded_at
    from usable_events
    left join owners
        on usable_events.message_id = owners.message_id
    {% if is_incremental() %}
    where usable_events.session_key in (select session_key from keys_to_reprocess)
    {% endif %}

),

-- window pass 1, in key order (event time, message id; unique): the previous event and the
-- tracker runs (a run starts at each event that carries a tracker session id)
with_previous as (

    select
        *,
        lag(event_at) over key_order as previous_event_at,
        lag(customer_id) over key_order as previous_customer_id,
        count(tracker_session_id) over key_order_so_far as tracker_run
    from events
    window
        key_order as (partition by session_key order by event_at, message_id),
        key_order_so_far as (
            partition by session_key order by event_at, message_id
            rows between unbounded preceding and current row
        )

),

-- window pass 2: owner runs (a new one at each change of owner), the latest timeout crossed by
-- an event without tracker session id (its tracker run, its time), and the tracker session id
-- of each tracker run (its first event's, the only one of the run that has one)
with_runs as (

    select
        *,
        sum(case
            when previous_event_at is not null
                and customer_id is distinct from previous_customer_id then 1
            else 0
        end) over key_order_so_far as owner_run,
        max(case
            when tracker_session_id is null and (previous_event_at is null
                or event_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_event_at') }})
                then tracker_run
        end) over key_order_so_far as last_timeout_run,
        max(case
            when tracker_session_id is null and (previous_event_at is null
                or event_at > {{ dbt.dateadd('minute', timeout_minutes, 'previous_event_at') }})
                then event_at
        end) over key_order_so_far as last_timeout_at,
        max(tracker_session_id) over (partition by session_key, tracker_run)
            as run_tracker_session_id
    from with_previous
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
        session_key,
        message_id,
        event_type,
        is_view,
        customer_id,
        event_at,
        received_date,
        loaded_at,
        owner_run,
        last_timeout_at,
        coalesce(
            tracker_session_id,
            case
                when coalesce(last_timeout_run, -1) < tracker_run then run_tracker_session_id
            end
        ) as effective_tracker_session_id
    from with_runs

),

-- the events left without tracker session id start timeout sessions at the timeouts crossed by
-- events without tracker session id, and belong to the latest such timeout (times of two such
-- timeouts of a key always differ)
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

-- window pass 3: the span of each owner's tracker or timeout session, for the cap
with_base_span as (

    select
        *,
        min(event_at) over base_session_all as base_started_at,
        max(event_at) over base_session_all as base_ended_at
    from with_base_session
    window base_session_all as (partition by session_key, owner_run, base_session)

),

with_cap_window as (

    select
        *,
        case
            when {{ dbt.datediff('base_started_at', 'event_at',
                'microsecond') }} <= 0 then 0
            else cast(floor(
                ({{ dbt.datediff('base_started_at', 'event_at',
                    'microsecond') }} - 1)
                / {{ cap_microseconds }}
            ) as {{ dbt.type_bigint() }})
        end as cap_window,
        -- some cap window > 0: the last event is over the cap after the start
        {{ dbt.datediff('base_started_at', 'base_ended_at', 'microsecond') }}
            > {{ cap_microseconds }} as is_split_by_cap
    from with_base_span

),

-- window pass 4, per session: its anchor (first-received message) and the positions. View
-- positions count the views (pages and screens) so far; the next view is the earliest view
-- after the event.
with_positions as (

    select
        *,
        first_value(message_id) over (
            partition by session_key, owner_run, base_session, cap_window
            order by received_date, event_at, message_id
            rows between unbounded preceding and unbounded following
        ) as anchor_message_id,
        row_number() over session_order as event_in_session,
        case when is_view then count(
            case when is_view then message_id end
        ) over session_so_far end as view_in_session,
        count(case when is_view then message_id end) over session_all as session_views,
        case when is_view then min(
            case when is_view then event_at end
        ) over session_after end as next_view_at
    from with_cap_window
    window
        session_order as (
            partition by session_key, owner_run, base_session, cap_window
            order by event_at, message_id
        ),
        session_so_far as (
            partition by session_key, owner_run, base_session, cap_window
            order by event_at, message_id
            rows between unbounded preceding and current row
        ),
        session_all as (
            partition by session_key, owner_run, base_session, cap_window
            order by event_at, message_id
            rows between unbounded preceding and unbounded following
        ),
        session_after as (
            partition by session_key, owner_run, base_session, cap_window
            order by event_at, message_id
            rows between 1 following and unbounded following
        )

),

final as (

    select
        -- ids
        {{ dbt.hash(dbt.concat(['session_key', "'|'", 'anchor_message_id'])) }} as session_id,
        session_key,
        message_id,
        event_type,
        customer_id,
        effective_tracker_session_id as tracker_session_id,
        anchor_message_id,

        -- positions
        event_in_session,
        view_in_session,
        coalesce(view_in_session = 1, false) as is_landing,
        coalesce(view_in_session = session_views, false) as is_exit,
        -- the event whose context attributes the session: its first view, else its first event
        coalesce(view_in_session = 1, false)
            or (session_views = 0 and event_in_session = 1) as is_attribution_event,

        -- flags
        is_split_by_cap,

        -- timestamps and durations
        event_at,
        received_date,
        loaded_at,
        case
            when next_view_at is not null
                then {{ cdp.seconds_between('event_at', 'next_view_at') }}
        end as time_on_view_seconds,
        {{ cdp.build_started_at() }} as sessionized_at

    from with_positions

)

select * from final
