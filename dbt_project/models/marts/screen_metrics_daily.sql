{#- One row per (UTC date of the screen view, screen name): the app counterpart of
    marts.page_metrics_daily, by the same definitions. Entrances, bounces and conversions count
    on the date and screen of the session's landing view. The screen half of
    int_sessions__view_metrics_daily. -#}
with

screen_metrics as (

    select * from {{ ref('int_sessions__view_metrics_daily') }}
    where view_type = 'screen'

),

final as (

    select
        date,
        view_name as screen_name,
        views as screen_views,
        unique_visitors,
        entrances,
        exits,
        bounces,
        bounce_rate,
        exit_rate,
        avg_time_on_view_seconds as avg_time_on_screen_seconds,
        conversions,
        conversion_rate
    from screen_metrics

)

select
    date,
    screen_name,
    screen_views,
    unique_visitors,
    entrances,
    exits,
    bounces,
    bounce_rate,
    exit_rate,
    avg_time_on_screen_seconds,
    conversions,
    conversion_rate
from final
