{#- The daily view metrics, computed once for pages and screens alike: one row per (UTC date of
    the view, view type, page path or screen name). Entrances, bounces and conversions count on
    the date and page or screen of the session's landing view. marts.page_metrics_daily and
    marts.screen_metrics_daily are its two halves. -#}
with

views as (

    select
        'page' as view_type,
        page_path as view_name,
        event_id,
        session_id,
        customer_id,
        anonymous_id,
        user_id,
        viewed_date,
        time_on_page_seconds as time_on_view_seconds,
        is_landing,
        is_exit
    from {{ ref('page_views') }}

    union all

    select
        'screen' as view_type,
        screen_name as view_name,
        event_id,
        session_id,
        customer_id,
        anonymous_id,
        user_id,
        viewed_date,
        time_on_screen_seconds as time_on_view_seconds,
        is_landing,
        is_exit
    from {{ ref('screen_views') }}

),

sessions as (

    select session_id, is_bounce, has_conversion
    from {{ ref('sessions') }}

),

views_with_session as (

    select
        views.view_type,
        views.view_name,
        views.viewed_date,
        views.event_id,
        -- a view without a customer counts its anonymous id (else user id) as the visitor
        coalesce(
            views.customer_id,
            {{ dbt.concat(["'anonymous_id:'", 'views.anonymous_id']) }},
            {{ dbt.concat(["'user_id:'", 'views.user_id']) }}
        ) as visitor_id,
        views.time_on_view_seconds,
        views.is_landing,
        views.is_exit,
        views.is_landing and sessions.is_bounce as is_bounce_entrance,
        views.is_landing and sessions.has_conversion as is_converting_entrance
    from views
    inner join sessions
        on views.session_id = sessions.session_id

),

daily_view_totals as (

    select
        viewed_date,
        view_type,
        view_name,
        count(*) as views,
        count(distinct visitor_id) as unique_visitors,
        count(case when is_landing then event_id end) as entrances,
        count(case when is_exit then event_id end) as exits,
        count(case when is_bounce_entrance then event_id end) as bounces,
        -- summed as whole milliseconds: an exact sum does not depend on the order rows are
        -- added in, so every build of the same data gives the same average to the last bit
        sum(cast(round(time_on_view_seconds * 1000) as {{ dbt.type_bigint() }}))
            as time_on_view_milliseconds,
        count(time_on_view_seconds) as timed_views,
        count(case when is_converting_entrance then event_id end) as conversions
    from views_with_session
    group by viewed_date, view_type, view_name

),

final as (

    select
        viewed_date as date,
        view_type,
        view_name,
        views,
        unique_visitors,
        entrances,
        exits,
        bounces,
        {{ cdp.safe_divide('bounces', 'entrances') }} as bounce_rate,
        {{ cdp.safe_divide('exits', 'views') }} as exit_rate,
        {{ cdp.safe_divide('time_on_view_milliseconds', 'timed_views') }} / 1000
            as avg_time_on_view_seconds,
        conversions,
        {{ cdp.safe_divide('conversions', 'entrances') }} as conversion_rate
    from daily_view_totals

)

select * from final
