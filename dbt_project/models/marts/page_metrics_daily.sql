{#- One row per (UTC date of the page view, page path). Entrances, bounces and conversions count
    on the date and path of the session's landing view. The page half of
    int_sessions__view_metrics_daily (marts.screen_metrics_daily is the screen half). -#}
with

page_metrics as (

    select * from {{ ref('int_sessions__view_metrics_daily') }}
    where view_type = 'page'

),

final as (

    select
        date,
        view_name as page_path,
        views as page_views,
        unique_visitors,
        entrances,
        exits,
        bounces,
        bounce_rate,
        exit_rate,
        avg_time_on_view_seconds as avg_time_on_page_seconds,
        conversions,
        conversion_rate
    from page_metrics

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
