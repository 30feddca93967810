-- page_metrics_daily adds up to the page views and sessions it summarises: page views to the
-- rows of page_views; entrances and exits to the sessions with page views; bounces and
-- conversions to the bounced and converting sessions with page views.
-- reported in Dagster as a check of page_metrics_daily (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'page_metrics_daily'}}}) }}
with

metrics as (

    select
        sum(page_views) as page_views,
        sum(entrances) as entrances,
        sum(exits) as exits,
        sum(bounces) as bounces,
        sum(conversions) as conversions
    from {{ ref('page_metrics_daily') }}

),

expected as (

    select
        (select count(*) from {{ ref('page_views') }}) as page_views,
        count(*) as entrances,
        count(*) as exits,
        count(case when is_bounce then session_id end) as bounces,
        count(case when has_conversion then session_id end) as conversions
    from {{ ref('sessions') }}
    where page_views > 0

)

select
    metrics.page_views as metric_page_views,
    expected.page_views as expected_page_views,
    metrics.entrances as metric_entrances,
    expected.entrances as expected_entrances,
    metrics.exits as metric_exits,
    metrics.bounces as metric_bounces,
    expected.bounces as expected_bounces,
    metrics.conversions as metric_conversions,
    expected.conversions as expected_conversions
from metrics
cross join expected
where coalesce(metrics.page_views, 0) <> expected.page_views
    or coalesce(metrics.entrances, 0) <> expected.entrances
    or coalesce(metrics.exits, 0) <> expected.exits
    or coalesce(metrics.bounces, 0) <> expected.bounces
    or coalesce(metrics.conversions, 0) <> expected.conversions
