-- Reconciliation: the daily metrics add up to the views of that day. For every date, the page
-- views, entrances, exits, bounces and conversions of page_metrics_daily (and the screen views
-- of screen_metrics_daily) equal the rows of page_views (screen_views) of that date: all
-- views, the landing views, the exit views, and the landing views of bounced and converting
-- sessions. (assert_session_views_match gives every session with views exactly one landing
-- view, so the entrances of all dates are the sessions with views.)
-- reported in Dagster as a check of page_metrics_daily (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'page_metrics_daily'}}}) }}
with

metrics as (

    select
        'page' as view_type,
        date,
        sum(page_views) as views,
        sum(entrances) as entrances,
        sum(exits) as exits,
        sum(bounces) as bounces,
        sum(conversions) as conversions
    from {{ ref('page_metrics_daily') }}
    group by date
    union all
    select
        'screen' as view_type,
        date,
        sum(screen_views) as views,
        sum(entrances) as entrances,
        sum(exits) as exits,
        sum(bounces) as bounces,
        sum(conversions) as conversions
    from {{ ref('screen_metrics_daily') }}
    group by date

),

views as (

    select 'page' as view_type, viewed_date, event_id, session_id, is_landing, is_exit
    from {{ ref('page_views') }}
    union all
    select 'screen' as view_type, viewed_date, event_id, session_id, is_landing, is_exit
    from {{ ref('screen_views') }}

),

view_rows as (

    select
        views.view_type,
        views.viewed_date as date,
        count(*) as views,
        count(case when views.is_landing then views.event_id end) as entrances,
        count(case when views.is_exit then views.event_id end) as exits,
        count(case when views.is_landing and sessions.is_bounce then views.event_id end)
            as bounces,
        count(case when views.is_landing and sessions.has_conversion then views.event_id end)
            as conversions
    from views
    inner join {{ ref('sessions') }} as sessions
        on views.session_id = sessions.session_id
    group by views.view_type, views.viewed_date

),

daily_differences as (

    select
        coalesce(metrics.view_type, view_rows.view_type) as view_type,
        coalesce(metrics.date, view_rows.date) as date,
        metrics.views as metric_views,
        view_rows.views as view_rows,
        metrics.entrances as metric_entrances,
        view_rows.entrances as landing_views,
        metrics.exits as metric_exits,
        view_rows.exits as exit_views,
        metrics.bounces as metric_bounces,
        view_rows.bounces as bounced_landing_views,
        metrics.conversions as metric_conversions,
        view_rows.conversions as converting_landing_views
    from metrics
    full outer join view_rows
        on metrics.view_type = view_rows.view_type
        and metrics.date = view_rows.date
    where coalesce(metrics.views, 0) <> coalesce(view_rows.views, 0)
        or coalesce(metrics.entrances, 0) <> coalesce(view_rows.entrances, 0)
        or coalesce(metrics.exits, 0) <> coalesce(view_rows.exits, 0)
        or coalesce(metrics.bounces, 0) <> coalesce(view_rows.bounces, 0)
        or coalesce(metrics.conversions, 0) <> coalesce(view_rows.conversions, 0)

)

select * from daily_differences
