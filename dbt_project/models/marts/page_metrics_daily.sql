{#- One row per (UTC date of the page view, page path). Entrances, bounces and conversions count
    on the date and path of the session's landing page view. -#}
with

page_views as (

    select * from {{ ref('page_views') }}

),

sessions as (

    select session_id, is_bounce, has_conversion
    from {{ ref('sessions') }}

),

page_views_with_session as (

    select
        page_views.viewed_date,
        page_views.page_path,
        page_views.event_id,
        -- a page view without a customer counts its anonymous id (else user id) as the visitor
        coalesce(
            page_views.customer_id,
            {{ dbt.concat(["'anonymous_id:'", 'page_views.anonymous_id']) }},
            {{ dbt.concat(["'user_id:'", 'page_views.user_id']) }}
        ) as visitor_id,
        page_views.time_on_page_seconds,
        page_views.is_landing,
        page_views.is_exit,
        page_views.is_landing and sessions.is_bounce as is_bounce_entrance,
        page_views.is_landing and sessions.has_conversion as is_converting_entrance
    from page_views
    inner join sessions
        on page_views.session_id = sessions.session_id

),

daily_page_totals as (

    select
        viewed_date,
        page_path,
        count(*) as page_views,
        count(distinct visitor_id) as unique_visitors,
        count(case when is_landing then event_id end) as entrances,
        count(case when is_exit then event_id end) as exits,
        count(case when is_bounce_entrance then event_id end) as bounces,
        -- summed as whole milliseconds: an exact sum does not depend on the order rows are
        -- added in, so every build of the same data gives the same average to the last bit
        sum(cast(round(time_on_page_seconds * 1000) as {{ dbt.type_bigint() }}))
            as time_on_page_milliseconds,
        count(time_on_page_seconds) as timed_page_views,
        count(case when is_converting_entrance then event_id end) as conversions
    from page_views_with_session
    group by viewed_date, page_path

),

final as (

    select
        viewed_date as date,
        page_path,
        page_views,
        unique_visitors,
        entrances,
        exits,
        bounces,
        {{ cdp.safe_divide('bounces', 'entrances') }} as bounce_rate,
        {{ cdp.safe_divide('exits', 'page_views') }} as exit_rate,
        {{ cdp.safe_divide('time_on_page_milliseconds', 'timed_page_views') }} / 1000
            as avg_time_on_page_seconds,
        conversions,
        {{ cdp.safe_divide('conversions', 'entrances') }} as conversion_rate
    from daily_page_totals

)

select
    date,
    page_path,
    page_views,
    unique_visitors,
    entrances,
    exits,
    bounces,
    bounce_rate,
    exit_rate,
    avg_time_on_page_seconds,
    conversions,
    conversion_rate
from final
