{#- One row per customer: every column of marts.customer_360 plus recent behaviour, the table
    audience conditions are written against. "The last N days" is relative to as_of_at, the
    newest event time in the warehouse (of any message; a time more than
    future_tolerance_minutes after its receivedAt counts as its receivedAt, as in the sessions),
    never the wall clock: the same data gives the same audiences on whatever day it is built. An event is in the last N days when its time is after
    as_of_at - N days. Windows come from var audience_windows_days (7, 30, 90); each adds
    page_views_<N>d, sessions_<N>d, orders_<N>d, revenue_<N>d, path_views_<N>d (map page path
    -> views) and events_<N>d (map track event name -> count). Only messages the analytics marts
    use count (analytics consent not refused). -#}
{%- set windows = var('audience_windows_days', [7, 30, 90]) -%}
with

customers as (

    select * from {{ ref('customer_360') }}

),

newest_events as (

    {%- for entity in ['pages', 'tracks', 'screens', 'identifies', 'aliases', 'groups'] %}

    select max({{ cdp.audience_event_time() }}) as event_at
    from {{ ref('stg_events__' ~ entity) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

as_of as (

    select max(event_at) as as_of_at from newest_events

),

page_views as (

    select customer_id, page_path, viewed_at
    from {{ ref('page_views') }}
    where customer_id is not null

),

sessions as (

    select customer_id, started_at
    from {{ ref('sessions') }}
    where customer_id is not null

),

orders as (

    select customer_id, ordered_at, revenue
    from {{ ref('orders') }}

),

tracks as (

    select
        message_customers.customer_id,
        tracks.event_name,
        {{ cdp.audience_event_time('tracks.event_at', 'tracks.received_at') }} as event_at
    from {{ ref('stg_events__tracks') }} as tracks
    inner join {{ ref('int_identity__message_customers') }} as message_customers
        on message_customers.message_id = tracks.message_id
    where tracks.analytics_consent is null or tracks.analytics_consent

),

path_counts as (

    select
        page_views.customer_id,
        page_views.page_path,
        {%- for days in windows %}
        count(case when page_views.viewed_at > {{ dbt.dateadd('day', -days, 'as_of.as_of_at') }}
            then 1 end) as views_{{ days }}d,
        {%- endfor %}
        count(*) as views,
        max(page_views.viewed_at) as last_viewed_at
    from page_views
    cross join as_of
    where page_views.page_path is not null
    group by page_views.customer_id, page_views.page_path

),

page_view_totals as (

    select
        customer_id,
        {%- for days in windows %}
        cast(sum(views_{{ days }}d) as {{ dbt.type_bigint() }}) as page_views_{{ days }}d,
        {{ cdp.map_agg('page_path', 'views_' ~ days ~ 'd', 'views_' ~ days ~ 'd > 0') }}
            as path_views_{{ days }}d,
        {%- endfor %}
        max(last_viewed_at) as last_page_view_at
    from path_counts
    group by customer_id

),

event_counts as (

    select
        tracks.customer_id,
        tracks.event_name,
        {%- for days in windows %}
        count(case when tracks.event_at > {{ dbt.dateadd('day', -days, 'as_of.as_of_at') }}
            then 1 end) as events_{{ days }}d,
        {%- endfor %}
        min(tracks.event_at) as first_event_at,
        max(tracks.event_at) as last_event_at
    from tracks
    cross join as_of
    where tracks.event_name is not null
    group by tracks.customer_id, tracks.event_name

),

event_totals as (

    select
        customer_id,
        {%- for days in windows %}
        {{ cdp.map_agg('event_name', 'events_' ~ days ~ 'd', 'events_' ~ days ~ 'd > 0') }}
            as events_{{ days }}d,
        {%- endfor %}
        min(case when event_name = 'Signed Up' then first_event_at end) as signed_up_at,
        max(last_event_at) as last_track_event_at
    from event_counts
    group by customer_id

),

session_totals as (

    select
        sessions.customer_id,
        {%- for days in windows %}
        count(case when sessions.started_at > {{ dbt.dateadd('day', -days, 'as_of.as_of_at') }}
            then 1 end) as sessions_{{ days }}d{{ ',' if not loop.last }}
        {%- endfor %}
    from sessions
    cross join as_of
    group by sessions.customer_id

),

order_totals as (

    select
        orders.customer_id,
        {%- for days in windows %}
        count(case when orders.ordered_at > {{ dbt.dateadd('day', -days, 'as_of.as_of_at') }}
            then 1 end) as orders_{{ days }}d,
        cast(coalesce(sum(case
            when orders.ordered_at > {{ dbt.dateadd('day', -days, 'as_of.as_of_at') }}
            then orders.revenue end), 0) as {{ dbt.type_numeric() }}) as revenue_{{ days }}d
            {{- ',' if not loop.last }}
        {%- endfor %}
    from orders
    cross join as_of
    group by orders.customer_id

),

final as (

    select
        customers.*,
        as_of.as_of_at,
        event_totals.signed_up_at,
        event_totals.signed_up_at is not null as has_signed_up,
        -- the last page view or track event the analytics marts use
        case
            when page_view_totals.last_page_view_at is null
                then event_totals.last_track_event_at
            when event_totals.last_track_event_at is null
                then page_view_totals.last_page_view_at
            when page_view_totals.last_page_view_at > event_totals.last_track_event_at
                then page_view_totals.last_page_view_at
            else event_totals.last_track_event_at
        end as last_active_at,
        {%- for days in windows %}
        coalesce(page_view_totals.page_views_{{ days }}d, 0) as page_views_{{ days }}d,
        coalesce(session_totals.sessions_{{ days }}d, 0) as sessions_{{ days }}d,
        coalesce(order_totals.orders_{{ days }}d, 0) as orders_{{ days }}d,
        coalesce(order_totals.revenue_{{ days }}d, 0) as revenue_{{ days }}d,
        page_view_totals.path_views_{{ days }}d,
        event_totals.events_{{ days }}d{{ ',' if not loop.last }}
        {%- endfor %}
    from customers
    cross join as_of
    left join page_view_totals on page_view_totals.customer_id = customers.customer_id
    left join event_totals on event_totals.customer_id = customers.customer_id
    left join session_totals on session_totals.customer_id = customers.customer_id
    left join order_totals on order_totals.customer_id = customers.customer_id

)

select
    *,
    {{ dbt.datediff('last_active_at', 'as_of_at', 'day') }} as days_since_last_active  -- noqa: LT05
from final
